# Sourced by scripts/build.sh when AUTOPRUNE_NATIVE=1: compiler flags for the host CPU (the Swift
# code only; the C kernels pick their instruction set at run time either way).
NATIVE_FLAGS=()
arch=$(uname -m)
if [ "$arch" = "x86_64" ] || [ "$arch" = "aarch64" ]; then
  NATIVE_FLAGS+=(-Xswiftc -target-cpu -Xswiftc native -Xswiftc -DAUTOPRUNE_NATIVE)
fi
# No AVX-512/AVX2 gathers: the compiler turns the sparse kernels' indexed loads into them, and
# measured on the Zen 4 machines they are slower than scalar loads (one-sample sparse LeNet-300:
# 4.3 µs with gathers, 3.1 without); Intel's Downfall microcode fix slows them there too.
if [ "$arch" = "x86_64" ]; then
  NATIVE_FLAGS+=(-Xcc -mno-gather -Xcc -mno-scatter)
fi
