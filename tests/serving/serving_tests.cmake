# The Triton backend's shared sessions and rounds, without a server (tests/unit globs the test).
target_sources(test_shared_session PRIVATE ${CMAKE_SOURCE_DIR}/serving/triton/shared_session.c
                                           ${CMAKE_SOURCE_DIR}/serving/triton/message.c)
target_link_libraries(test_shared_session PRIVATE mtcc_driver mtrt_static Threads::Threads)

# --- serving (issue 15): python/mtrt over libmtrt (pytest), its wheel, and the Triton backend
# against a real tritonserver. Not in the sanitizer build: Python and tritonserver, built without
# -fsanitize, cannot load an ASan libmtrt.
if(NOT MTCC_SANITIZE)
  set(MT_SERVING_ENV MTCC=$<TARGET_FILE:mtcc> MTRT_LIBRARY=$<TARGET_FILE:mtrt>
                     PYTHONDONTWRITEBYTECODE=1 MT_MODELS=${MT_MODELS})
  set(MT_PYTEST ${MTCC_PYTHON} -m pytest -q -p no:cacheprovider)
  foreach(t mtrt mtrt_wheel mtrt_samples)
    add_test(NAME python_${t} COMMAND ${MT_PYTEST} ${MT_TESTS}/serving/test_${t}.py)
    set_tests_properties(python_${t} PROPERTIES
      ENVIRONMENT "${MT_SERVING_ENV};MT_SERVING_WORK=${CMAKE_CURRENT_BINARY_DIR}/work/python_${t}"
      LABELS unit)
  endforeach()
  set_tests_properties(python_mtrt_samples PROPERTIES FIXTURES_REQUIRED models LABELS models)
  # a real tritonserver (nvidia-pytriton's binary) with libtriton_mtrt.so: the tiny 3-tenant
  # bundle in the default run, the sample mix with the models
  foreach(kind tiny samples)
    add_test(NAME triton_serving_${kind} COMMAND ${MT_PYTEST} ${MT_TESTS}/serving/test_triton.py)
    set_tests_properties(triton_serving_${kind} PROPERTIES
      ENVIRONMENT "${MT_SERVING_ENV};MT_SERVING_WORK=${CMAKE_CURRENT_BINARY_DIR}/work/triton_${kind};MT_TRITON_BUNDLE=${kind};MT_TRITON_BACKENDS=${CMAKE_BINARY_DIR}/triton/backends"
      LABELS serving TIMEOUT 600)
  endforeach()
  set_tests_properties(triton_serving_samples PROPERTIES FIXTURES_REQUIRED models
                       LABELS "serving;models;slow")
  set_property(TEST triton_serving_samples APPEND PROPERTY ENVIRONMENT
               MT_TRITON_LOAD_SECONDS=20 MT_TRITON_LOAD_CLIENTS=8)
endif()
