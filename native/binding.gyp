{
  # One target: the sealed shared-memory helpers used by isolated (child
  # process) mode. Linux-only on purpose: memfd_create, file seals and
  # PR_SET_PDEATHSIG have no portable equivalent, so build.mjs does not even try
  # elsewhere and the host falls back to copying frames.
  "targets": [
    {
      "target_name": "plugin_seam_shm",
      "sources": ["src/shm.cc"],
      # node.h's NODE_MODULE_INIT casts the init function type; that
      # warning is Node's, not ours.
      "cflags_cc": ["-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-cast-function-type"]
    }
  ]
}
