/* mtcc: the command-line front of the compiler. */
#include <stdio.h>
#include <string.h>

#include "runtime/base/escape.h"
#include "tools/cli.h"

#ifndef MTCC_VERSION_STRING
#define MTCC_VERSION_STRING "0.0.0"
#endif

static void usage(FILE *out) {
  fputs(
      "usage: mtcc <command> [options]\n"
      "  mtcc --version\n"
      "  mtcc inspect MODEL.onnx...|MANIFEST.json [--dump-ir]\n"
      "  mtcc run --reference MODEL.onnx...|MANIFEST.json --input [TENANT:]NAME=FILE ...\n"
      "           --output-dir DIR [--output-format npy|pb]\n"
      "  mtcc compile MODEL.onnx...|MANIFEST.json [--report FILE.json] [--target sm_XX]\n"
      "           [--arch-params FILE.json] [--dump-ir-after=PASS] [--disable-pass=PASS]...\n"
      "           [--emit-cuda DIR] [--nvrtc] [--no-cache] [--report-html FILE.html]\n"
      "           [--conv-split-k N] [--conv-gemm auto|never|always]\n"
      "           [--constant-input [TENANT:]NAME=FILE]...\n"
      "           [--cpu-targets x86-64-v3,x86-64-v4] [--no-cpu-code]   (CPU code through LLVM,\n"
      "           generated with -o: one shared object per target)\n"
      "           [-o OUT.mtbundle [--cpu-only]]   (a bundle carries GPU code when NVRTC is\n"
      "           available; --cpu-only leaves it out)\n"
      "  mtcc report REPORT.json -o REPORT.html   the schedule as a self-contained HTML page\n"
      "  mtcc run BUNDLE.mtbundle --input [TENANT:]NAME=FILE ... --output-dir DIR\n"
      "           [--device cpu|gpu|auto] [--gpu N] [--profile]   (libmtrt; same layout\n"
      "           as run --reference; --profile: measured vs predicted time per tenant)\n"
      "           [--arrival round|independent|batched-window] [--window-us US]\n"
      "           [--cpu-threads N] [--cpu-target auto|reference|x86-64-v3|x86-64-v4|...]\n"
      "           (which generated CPU object runs; a target caps the host's features)\n"
      "  mtcc inspect BUNDLE.mtbundle [--verbose]   (--verbose: every GPU module and step,\n"
      "           every generated CPU kernel)\n"
      "  mtcc check BUNDLE.mtbundle --inputs DIR --expected DIR [--rtol R] [--atol A]\n"
      "           [--junit FILE.xml]      (DIR/<tenant>/<name>.npy; exit 0 only if all match)\n"
      "  mtcc triton-repo BUNDLE.mtbundle DIR [--cpu-threads N]   a Triton model repository\n"
      "           (one model per tenant, backend \"mtrt\", the bundle copied once; DIR new or\n"
      "           empty; N: the shared session's CPU threads)\n"
      "  mtcc conformance [--emulate] DIR...   (--emulate: as generated CUDA under the emulation)\n"
      "  mtcc conformance --backend cpu DIR... (bundles with generated CPU code through libmtrt)\n"
      "inspect, run, compile and conformance take --memory-limit SIZE (e.g. 512M, 4G; default:\n"
      "half the physical memory): no tensor a file declares or computes may need more.\n"
      "  mtcc ops [--markdown [--versions]]  the supported ONNX ops: fusion patterns, dtypes,\n"
      "                                 opset versions\n"
      "Tensor files are numpy .npy or ONNX TensorProto .pb. See README.md for the manifest "
      "format.\n",
      out);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
    printf("mtcc %s\n", MTCC_VERSION_STRING);
    return 0;
  }
  if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
    usage(stdout);
    return 0;
  }
  if (strcmp(cmd, "inspect") == 0) return mt_cmd_inspect(argc - 2, argv + 2);
  if (strcmp(cmd, "run") == 0) return mt_cmd_run(argc - 2, argv + 2);
  if (strcmp(cmd, "compile") == 0) return mt_cmd_compile(argc - 2, argv + 2);
  if (strcmp(cmd, "conformance") == 0) return mt_cmd_conformance(argc - 2, argv + 2);
  if (strcmp(cmd, "ops") == 0) return mt_cmd_ops(argc - 2, argv + 2);
  if (strcmp(cmd, "report") == 0) return mt_cmd_report(argc - 2, argv + 2);
  if (strcmp(cmd, "check") == 0) return mt_cmd_check(argc - 2, argv + 2);
  if (strcmp(cmd, "triton-repo") == 0) return mt_cmd_triton_repo(argc - 2, argv + 2);
  fprintf(stderr, "mtcc: error: unknown command '%s'\n", mt_esc(cmd));
  usage(stderr);
  return 2;
}
