# Turns the flat restorer binary into a C array (cmake -P, no xxd needed).
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" n)
math(EXPR bytes "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
file(WRITE ${OUT} "/* generated from the restorer blob; do not edit */\n"
  "const unsigned char tern_rst_blob[] __attribute__((aligned(16))) = {${body}};\n"
  "const unsigned long tern_rst_blob_len = ${bytes};\n")
