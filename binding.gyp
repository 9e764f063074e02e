{
  "targets": [
    {
      "target_name": "caffe_lrp",
      "sources": ["<!@(node -e \"require('fs').readFileSync('native/sources.txt','utf8').split('\\n').filter(l=>/^[^#].*\\.cc$/.test(l)).forEach(l=>console.log(l))\")"],
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
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++1y", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-fopenmp", "-O3", "-Wall", "-Wextra"]
    }
  ]
}
