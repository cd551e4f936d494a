# storage.fail.*: checkpoints that fail (a full disk at every step of the
# write, a directory that is not writable) never stop the job, leave no
# partial file, and keep the previous checkpoint valid (fail.sh). They mount
# tmpfs file systems and act as nobody: root only, as CI and these VMs are.
add_executable(ckpt_pages ckpt_pages.c)
target_link_libraries(ckpt_pages PRIVATE tern_hdf5)

set(_fail_args $<TARGET_FILE:tern> $<TARGET_FILE:tern_app_cg> $<TARGET_FILE:ckpt_pages>
               $<TARGET_FILE:store_test> ${TERN_MPIEXEC})
foreach(np 2 4)
  foreach(c points layout data index close)
    add_test(NAME storage.fail.${c}.np${np}
             COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/fail.sh ${c} ${np} ${_fail_args})
    set_tests_properties(storage.fail.${c}.np${np} PROPERTIES TIMEOUT 150
      ENVIRONMENT "TERN_LIB=$<TARGET_FILE:libtern>")
  endforeach()
endforeach()
foreach(c fits notwritable)
  add_test(NAME storage.fail.${c}.np2 COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/fail.sh ${c} 2 ${_fail_args})
  set_tests_properties(storage.fail.${c}.np2 PROPERTIES TIMEOUT 150
    ENVIRONMENT "TERN_LIB=$<TARGET_FILE:libtern>")
endforeach()
