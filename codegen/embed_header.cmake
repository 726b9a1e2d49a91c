# Writes OUT, a C file defining mt_cuda_dialect_header[] with the text of IN (the dialect header),
# so the compiler carries the header it hands to NVRTC and writes next to --emit-cuda sources.
file(READ "${IN}" text)
string(REPLACE "\\" "\\\\" text "${text}")
string(REPLACE "\"" "\\\"" text "${text}")
string(REPLACE "\n" "\\n\"\n\"" text "${text}")
file(WRITE "${OUT}.tmp" "/* Generated from codegen/mt_cuda.h by codegen/embed_header.cmake. */\n"
                        "const char mt_cuda_dialect_header[] =\n\"${text}\";\n")
file(RENAME "${OUT}.tmp" "${OUT}")
