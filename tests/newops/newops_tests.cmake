# The newest opsets' ops (issue 13): SwiGLU, BitCast, TensorScatter, DeformConv, TfIdfVectorizer,
# CausalConvWithState, LinearAttention wheel cases compiled to CPU bundles and run by libmtrt (the
# kernel-call codec and the call validator on each kind), against the backend's outputs; one
# perturbed output must fail. The script is the attention family's, given these cases.
add_test(NAME newops_bundles
         COMMAND ${MTCC_PYTHON} ${MT_TESTS}/attention/check_attention_bundles.py
                 --mtcc $<TARGET_FILE:mtcc> --cases ${MT_WHEEL_NODE} --label newops
                 --work ${CMAKE_CURRENT_BINARY_DIR}/work/newops_bundles
                 test_swiglu_float16 test_bitcast_float64_to_int64 test_bitcast_bool_to_uint8
                 test_tensorscatter_circular test_tensorscatter_3d test_deform_conv_with_mask_bias
                 test_tfidfvectorizer_tf_batch_uniandbigrams_skip5
                 test_causal_conv_with_state_silu_with_past_state
                 test_linear_attention_gated_delta_gqa test_linear_attention_prefill_with_past
                 test_swiglu_alpha)
set_tests_properties(newops_bundles PROPERTIES FIXTURES_REQUIRED wheel_node LABELS conformance)
