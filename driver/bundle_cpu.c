/* The CPU half of the .mtbundle writer's generated code: codegen/cpu's shared objects become
 * Manifest.cpu_objects plus the CPU code section, and its per-group kernels Manifest.cpu_groups
 * (runtime/bundle/mtbundle.proto, fields 17-19; runtime/bundle/cpu_abi.h). Kernel arguments come
 * from mt_bw_ref, the function that places the CPU nodes' buffers, so a generated kernel reads
 * and writes exactly the bytes its reference nodes would. Deterministic: objects in target
 * order, each 64-byte aligned. */
#include <string.h>

#include "driver/bundle_writer.h"
#include "runtime/bundle/cpu_abi.h"

MT_MUST_USE static mt_status *add_objects(writer *w, Mtbundle__Manifest *mf,
                                          const mt_cpu_program *cpu) {
  mf->n_cpu_objects = (size_t)cpu->n_objects;
  WARRAY(w, mf->cpu_objects, cpu->n_objects);
  for (int i = 0; i < cpu->n_objects; i++) {
    const mt_cpu_object *o = &cpu->objects[i];
    Mtbundle__CpuObject *bo;
    WNEW(w, bo, mtbundle__cpu_object__init);
    bo->target = (char *)o->target;
    bo->n_required_features = (size_t)o->n_features;
    bo->required_features = (char **)o->features;
    bo->n_needed_libraries = (size_t)o->n_needed;
    bo->needed_libraries = (char **)o->needed;
    bo->abi_version = MT_CPU_ABI_VERSION;
    w->cpu_code_bytes = mt_bw_align64(w->cpu_code_bytes);
    bo->offset = w->cpu_code_bytes;
    bo->size = o->size;
    w->cpu_code_bytes += o->size;
    mf->cpu_objects[i] = bo;
  }
  w->cpu_code = mt_bw_alloc(w, (size_t)w->cpu_code_bytes);
  if (!w->cpu_code) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  for (int i = 0; i < cpu->n_objects; i++)
    memcpy(w->cpu_code + mf->cpu_objects[i]->offset, cpu->objects[i].bytes, cpu->objects[i].size);
  return NULL;
}

MT_MUST_USE static mt_status *add_group(writer *w, const mt_cpu_program *cpu, int32_t hg,
                                        Mtbundle__CpuGroup **out) {
  const mt_cpu_group_code *gc = &cpu->groups[hg];
  Mtbundle__CpuGroup *bg;
  WNEW(w, bg, mtbundle__cpu_group__init);
  *out = bg;
  if (gc->unavailable[0]) {
    bg->unavailable = (char *)gc->unavailable;
    return NULL;
  }
  bg->n_kernels = (size_t)gc->n_kernels;
  WARRAY(w, bg->kernels, gc->n_kernels);
  for (int i = 0; i < gc->n_kernels; i++) {
    const mt_cpu_kernel *k = &cpu->kernels[gc->first_kernel + i];
    Mtbundle__CpuKernel *bk;
    WNEW(w, bk, mtbundle__cpu_kernel__init);
    bk->symbol = (char *)k->symbol;
    bk->name = (char *)k->name;
    bk->tenant = k->tenant;
    bk->n_args = (size_t)k->n_args;
    WARRAY(w, bk->args, k->n_args);
    for (int a = 0; a < k->n_args; a++)
      MT_RETURN_IF_ERROR(mt_bw_ref(w, k->args[a], &bk->args[a]), "CPU kernel %s", k->name);
    bg->kernels[i] = bk;
  }
  return NULL;
}

mt_status *mt_bw_cpu(writer *w, Mtbundle__Manifest *mf, const int32_t *order) {
  const mt_cpu_program *cpu = w->c->cpu;
  if (!cpu) {
    mf->cpu_unavailable = "CPU code was not generated (mtcc compile --no-cpu-code, or "
                          "mtcc_compile_options.cpu_code was 0)";
    return NULL;
  }
  if (cpu->n_objects == 0) {
    mf->cpu_unavailable = (char *)cpu->unavailable;
    return NULL;
  }
  if (cpu->n_groups != w->p->n_hgroups)
    return MT_ERR(INTERNAL, "bundle: the CPU program has %d groups, the plan %d", cpu->n_groups,
                  w->p->n_hgroups);
  MT_RETURN_IF_ERROR_PLAIN(add_objects(w, mf, cpu));
  mf->n_cpu_groups = mf->n_groups;
  WARRAY(w, mf->cpu_groups, mf->n_groups);
  for (size_t i = 0; i < mf->n_groups; i++)
    MT_RETURN_IF_ERROR_PLAIN(add_group(w, cpu, order[i], &mf->cpu_groups[i]));
  return NULL;
}
