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
endif()
