{
  # Two variants of the same sources (native/sources.txt, shared with CMakeLists.txt):
  # - default: links the system's shared OpenBLAS (the source fallback of `npm install`);
  # - caffe_lrp_static_blas=1 (set by native/build-prebuilt.js through GYP_DEFINES): the
  #   prebuilt of the npm package. It links Debian's static OpenBLAS (DYNAMIC_ARCH: kernels
  #   chosen on the user's CPU at load time), hides the archive's symbols (no clash with
  #   another BLAS in the process) and finds libgomp.so.1 next to itself ($ORIGIN).
  "variables": {
    "caffe_lrp_static_blas%": "0",
    "caffe_lrp_openblas_archive%": "/usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblas.a"
  },
  "targets": [
    {
      "target_name": "caffe_lrp",
      "sources": ["<!@(node -e \"require('fs').readFileSync('native/sources.txt','utf8').split('\\n').filter(l=>/^[^#].*\\.cc$/.test(l)).forEach(l=>console.log(l))\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++1y", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-fopenmp", "-O3", "-Wall", "-Wextra"],
      "conditions": [
        ["caffe_lrp_static_blas==1", {
          "include_dirs": [
            "<!(node -p \"require('node-addon-api').include_dir\")",
            "native",
            "/usr/include/x86_64-linux-gnu/openblas-openmp"
          ],
          "libraries": ["<(caffe_lrp_openblas_archive)", "-fopenmp"],
          "ldflags": ["-Wl,--exclude-libs,ALL", "-Wl,--as-needed", "-Wl,-rpath,'$$ORIGIN'"]
        }, {
          "include_dirs": [
            "<!(node -p \"require('node-addon-api').include_dir\")",
            "native",
            "/usr/include/x86_64-linux-gnu/openblas-pthread",
            "/usr/include/aarch64-linux-gnu/openblas-pthread"
          ],
          "libraries": ["-lopenblas", "-fopenmp"],
          "library_dirs": [
            "/usr/lib/x86_64-linux-gnu/openblas-openmp",
            "/usr/lib/aarch64-linux-gnu/openblas-openmp",
            "/usr/lib/x86_64-linux-gnu/openblas-pthread",
            "/usr/lib/aarch64-linux-gnu/openblas-pthread"
          ],
          "ldflags": [
            "-Wl,-rpath,/usr/lib/x86_64-linux-gnu/openblas-openmp",
            "-Wl,-rpath,/usr/lib/aarch64-linux-gnu/openblas-openmp"
          ]
        }]
      ]
    }
  ]
}
