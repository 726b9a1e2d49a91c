# Quantization (issue 13): a small ResNet-style model quantized by ONNX Runtime's quantize_static
# (QDQ, per-channel), through mtcc against ONNX Runtime, and its generated CUDA under the emulation
# against the reference executor (the folded QLinearConv kernels are integer math: equal).
set(MT_QUANT_MODELS ${CMAKE_CURRENT_BINARY_DIR}/quant-models)
add_test(NAME quant_models_generate
         COMMAND ${MTCC_PYTHON} ${MT_TESTS}/quant/gen_quant_resnet.py --out ${MT_QUANT_MODELS})
set_tests_properties(quant_models_generate PROPERTIES FIXTURES_SETUP quant_models LABELS models)
add_test(NAME model_resnet_int8
         COMMAND ${MTCC_PYTHON} ${MT_TESTS}/quant/check_quant_resnet.py --mtcc $<TARGET_FILE:mtcc>
                 --models ${MT_QUANT_MODELS} --work ${CMAKE_CURRENT_BINARY_DIR}/work/resnet_int8
                 --inputs 8)
set_tests_properties(model_resnet_int8 PROPERTIES FIXTURES_REQUIRED quant_models LABELS models)
file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/emulate_resnet_int8.json
     "{\"tenants\": [{\"name\": \"resnet_int8\", \"model\": \"${MT_QUANT_MODELS}/resnet_int8.onnx\"}]}\n")
add_test(NAME codegen_emulate_resnet_int8
         COMMAND mtcc-emulate models ${CMAKE_CURRENT_BINARY_DIR}/emulate_resnet_int8.json)
set_tests_properties(codegen_emulate_resnet_int8 PROPERTIES FIXTURES_REQUIRED quant_models
                                                            LABELS codegen SKIP_RETURN_CODE 77)
# The fold-qdq pass on small QDQ graphs: folds (checked against ONNX Runtime) and refusals with
# their reasons.
add_test(NAME quant_fold_qdq
         COMMAND ${MTCC_PYTHON} ${MT_TESTS}/quant/check_fold_qdq.py --mtcc $<TARGET_FILE:mtcc>
                 --work ${CMAKE_CURRENT_BINARY_DIR}/work/fold_qdq)
set_tests_properties(quant_fold_qdq PROPERTIES LABELS unit)
# A float8 zero point must be 0: a nonzero one is refused by name, -0 runs (int4 branch).
add_test(NAME quant_f8_zero_point
         COMMAND ${MTCC_PYTHON} ${MT_TESTS}/quant/check_f8_zero_point.py --mtcc $<TARGET_FILE:mtcc>
                 --work ${CMAKE_CURRENT_BINARY_DIR}/work/f8_zero_point)
set_tests_properties(quant_f8_zero_point PROPERTIES LABELS unit)
