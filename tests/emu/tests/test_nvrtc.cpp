/* The emulator's dialect is real CUDA: every kernel source the emulator tests run is compiled here
 * with NVRTC for sm_80 and sm_90 (no GPU needed), and every extern "C" __global__ kernel it declares
 * must appear in the resulting cubin.
 * Usage: emu_nvrtc_test INCLUDE_DIR... KERNEL.cu...   (arguments ending in .cu are sources) */
#include <nvrtc.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

static bool ends_with(const std::string &s, const std::string &suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/* Names declared as `extern "C" __global__ void NAME(`. */
static std::vector<std::string> kernel_names(const std::string &src) {
  std::vector<std::string> names;
  const std::string key = "extern \"C\" __global__ void ";
  for (size_t pos = src.find(key); pos != std::string::npos; pos = src.find(key, pos + 1)) {
    size_t b = pos + key.size(), e = b;
    while (e < src.size() && (isalnum((unsigned char)src[e]) || src[e] == '_')) e++;
    names.push_back(src.substr(b, e - b));
  }
  return names;
}

static int compile(const std::string &path, const std::string &src,
                   const std::vector<std::string> &incs, int arch) {
  nvrtcProgram prog;
  std::string base = path.substr(path.find_last_of('/') + 1);
  if (nvrtcCreateProgram(&prog, src.c_str(), base.c_str(), 0, nullptr, nullptr) != NVRTC_SUCCESS) {
    fprintf(stderr, "%s: nvrtcCreateProgram failed\n", base.c_str());
    return 1;
  }
  std::vector<std::string> opts = {"--gpu-architecture=sm_" + std::to_string(arch), "--std=c++17"};
  for (const std::string &i : incs) opts.push_back("-I" + i);
  std::vector<const char *> copts;
  for (const std::string &o : opts) copts.push_back(o.c_str());
  nvrtcResult r = nvrtcCompileProgram(prog, (int)copts.size(), copts.data());
  size_t log_size = 0;
  nvrtcGetProgramLogSize(prog, &log_size);
  std::string log(log_size, '\0');
  if (log_size) nvrtcGetProgramLog(prog, &log[0]);
  int failed = 0;
  if (r != NVRTC_SUCCESS) {
    fprintf(stderr, "%s (sm_%d): %s\n%s\n", base.c_str(), arch, nvrtcGetErrorString(r),
            log.c_str());
    failed = 1;
  } else {
    size_t n = 0;
    nvrtcGetCUBINSize(prog, &n);
    std::string cubin(n, '\0');
    if (n) nvrtcGetCUBIN(prog, &cubin[0]);
    std::vector<std::string> names = kernel_names(src);
    for (const std::string &k : names) {
      if (cubin.find(k) == std::string::npos) {
        fprintf(stderr, "%s (sm_%d): kernel %s missing from the cubin\n", base.c_str(), arch,
                k.c_str());
        failed = 1;
      }
    }
    printf("%-16s sm_%d: %zu kernels, %zu-byte cubin%s\n", base.c_str(), arch, names.size(), n,
           log.size() > 1 ? " (with warnings below)" : "");
    if (log.size() > 1) printf("%s\n", log.c_str());
  }
  nvrtcDestroyProgram(&prog);
  return failed;
}

int main(int argc, char **argv) {
  std::vector<std::string> incs, files;
  for (int i = 1; i < argc; i++) (ends_with(argv[i], ".cu") ? files : incs).push_back(argv[i]);
  if (files.empty()) {
    fprintf(stderr, "usage: %s INCLUDE_DIR... KERNEL.cu...\n", argv[0]);
    return 2;
  }
  int major = 0, minor = 0;
  nvrtcVersion(&major, &minor);
  printf("NVRTC %d.%d\n", major, minor);
  int failed = 0;
  for (const std::string &f : files) {
    std::ifstream in(f);
    if (!in) {
      fprintf(stderr, "cannot read %s\n", f.c_str());
      return 1;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    for (int arch : {80, 90}) failed += compile(f, ss.str(), incs, arch);
  }
  printf("%s: %zu sources x {sm_80, sm_90}, %d failures\n", failed ? "FAIL" : "OK", files.size(),
         failed);
  return failed != 0;
}
