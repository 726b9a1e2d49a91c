# Attention family (issue 13): RotaryEmbedding and Attention wheel cases compiled to bundles and
# run by libmtrt (the codec and the call validator on every form), against the backend's outputs.
add_test(NAME attention_bundles
         COMMAND ${MTCC_PYTHON} ${MT_TESTS}/attention/check_attention_bundles.py
                 --mtcc $<TARGET_FILE:mtcc> --cases ${MT_WHEEL_NODE}
                 --work ${CMAKE_CURRENT_BINARY_DIR}/work/attention_bundles)
set_tests_properties(attention_bundles PROPERTIES FIXTURES_REQUIRED wheel_node LABELS conformance)
