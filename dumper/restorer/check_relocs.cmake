# The blob is copied to an arbitrary address: it must have no absolute
# relocations (pointer tables, absolute addresses of functions or strings).
execute_process(COMMAND ${OBJDUMP} -r ${IN} OUTPUT_VARIABLE out)
string(REGEX MATCH "R_X86_64_(64|32S?|RELATIVE)[ \t]" bad "${out}")
if(bad)
  message(FATAL_ERROR "restorer blob ${IN} has absolute relocations:\n${out}")
endif()
