/* The tenants manifest (JSON, parsed with jansson) and loading a whole workload into one module.
 *
 * {
 *   "targets": ["sm_80", "sm_90"],
 *   "partitions": [{"name": "vision", "sm_budget": 66, "hard": true}, ...],
 *   "tenants": [{"name": "resnet", "model": "resnet50.onnx", "partition": "vision",
 *                "priority": 1, "dims": {"batch": 8}, "shapes": {"input": [8, 3, 224, 224]}}]
 * }
 * Model paths are relative to the manifest's folder. Unknown keys are errors (typos must not pass
 * silently). Without a manifest, bare model paths form one "default" partition. */
#ifndef MT_FRONTEND_MANIFEST_H
#define MT_FRONTEND_MANIFEST_H

#include "ir/module.h"

typedef struct mt_partition_spec {
  char *name;
  int sm_budget; /* 0: the whole GPU */
  bool hard;     /* "hard": true: refuse budgets green contexts cannot hold (plan/partitions.c) */
} mt_partition_spec;

typedef struct mt_tenant_spec {
  char *name;
  char *model_path; /* resolved against the manifest's folder */
  char *partition;
  int priority;
  int n_dims;
  mt_dim_binding *dims;
  int n_shapes;
  mt_shape_override *shapes;
} mt_tenant_spec;

typedef struct mt_manifest {
  char *path; /* NULL when built from bare model paths */
  int n_targets;
  /* The manifest named no targets (targets is then sm_80 and sm_90, the SM budgets' check; code
   * generation compiles for every arch the compiler knows). */
  bool targets_defaulted;
  char **targets;
  int n_partitions;
  mt_partition_spec *partitions;
  int n_tenants;
  mt_tenant_spec *tenants;
} mt_manifest;

/* Parses and validates a manifest file. Errors name the file, line and the offending key. */
/* Manifests and other JSON a user names are refused above this size (64 MiB): far beyond any
 * real manifest, and a bound on what a mistaken path can make us read. */
#define MT_TEXT_FILE_LIMIT ((size_t)64 << 20)

MT_MUST_USE mt_status *mt_manifest_load(const char *path, mt_manifest **out_manifest);
/* Parses manifest text already in memory; path names it in messages and anchors model paths. */
MT_MUST_USE mt_status *mt_manifest_parse(const char *path, const char *text, size_t len,
                                         mt_manifest **out_manifest);
/* A manifest for bare model paths: tenants named after the files, one "default" partition. */
MT_MUST_USE mt_status *mt_manifest_from_models(int n_paths, char *const *paths,
                                               mt_manifest **out_manifest);
void mt_manifest_free(mt_manifest *mf);

/* Imports every tenant of the manifest into a new module (applying partitions, priorities,
 * dim bindings and shape overrides) and checks it with the verifier. The module allocates from
 * `allocator` (NULL: system), which must outlive it. memory_limit is the module's memory budget
 * (runtime/base/memory_limit.h; 0: the machine's default), already applied to the import. */
MT_MUST_USE mt_status *mt_workload_import(const mt_manifest *mf, const mt_allocator *allocator,
                                          size_t memory_limit, mt_module **out_module);

/* Loads a workload from the command line: one .json manifest, or one or more model paths. */
MT_MUST_USE mt_status *mt_workload_load(const mt_allocator *allocator, size_t memory_limit,
                                        int n_paths, char *const *paths, mt_manifest **out_manifest,
                                        mt_module **out_module);

#endif
