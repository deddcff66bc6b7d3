# Embeds OpenCL C sources into a generated C file so the binary needs no files at run
# time. Each kernel file becomes one entry of vaecl_kernel_sources[]; the runtime joins
# them in order into one program.
function(vaecl_embed_kernels output)
  set(inputs)
  foreach(src ${ARGN})
    list(APPEND inputs ${CMAKE_SOURCE_DIR}/${src})
  endforeach()
  # A CMake list cannot cross the command line intact; '|' separates the paths instead.
  string(REPLACE ";" "|" joined "${inputs}")
  add_custom_command(
    OUTPUT ${output}
    COMMAND ${CMAKE_COMMAND} -DOUTPUT=${output} "-DINPUTS=${joined}"
            -P ${CMAKE_SOURCE_DIR}/cmake/EmbedKernelsScript.cmake
    DEPENDS ${inputs} ${CMAKE_SOURCE_DIR}/cmake/EmbedKernelsScript.cmake
    COMMENT "Embedding OpenCL kernels"
    VERBATIM)
endfunction()
