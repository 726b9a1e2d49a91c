# mt_emulate_shards(NAME SHARDS CASES <dirs...> [FALLBACK <dirs...>] [PROPERTIES <props...>])
#
# Runs `mtcc conformance --emulate` over the case folders CASES as SHARDS tests NAME_1..NAME_SHARDS
# (case i goes to shard i mod SHARDS + 1, so every family lands in every shard). One test over ~140
# cases took up to ~440 s of its 600 s limit on a loaded 2-core machine (one g++ run per case);
# shards run side by side under `ctest -j` and each stays far from its limit. Each shard pins its own
# counts: every case passed, the cases in FALLBACK (a subset of CASES) and only those used the
# reference fallback. `ctest -R NAME` still selects all of them. PROPERTIES go to every shard.
function(mt_emulate_shards name shards)
  cmake_parse_arguments(PARSE_ARGV 2 arg "" "" "CASES;FALLBACK;PROPERTIES")
  foreach(s RANGE 1 ${shards})
    set(dirs_${s} "")
    set(count_${s} 0)
    set(fallback_${s} 0)
  endforeach()
  set(i 0)
  foreach(c IN LISTS arg_CASES)
    math(EXPR s "${i} % ${shards} + 1")
    list(APPEND dirs_${s} ${c})
    math(EXPR count_${s} "${count_${s}} + 1")
    if(c IN_LIST arg_FALLBACK)
      math(EXPR fallback_${s} "${fallback_${s}} + 1")
    endif()
    math(EXPR i "${i} + 1")
  endforeach()
  foreach(s RANGE 1 ${shards})
    math(EXPR generated "${count_${s}} - ${fallback_${s}}")
    add_test(NAME ${name}_${s} COMMAND mtcc conformance --emulate ${dirs_${s}})
    set_tests_properties(
      ${name}_${s}
      PROPERTIES ${arg_PROPERTIES} SKIP_RETURN_CODE 77
                 PASS_REGULAR_EXPRESSION
                 "emulate: ${generated} passed cases ran every group as generated code, ${fallback_${s}} used the reference fallback \\([0-9.]+ s\\)[\r\n]+conformance: ${count_${s}} passed, 0 failed, 0 unsupported")
  endforeach()
endfunction()
