# Sourced by the build and test scripts: compiler flags for the host CPU.
NATIVE_FLAGS=()
arch=$(uname -m)
if [ "$arch" = "x86_64" ] || [ "$arch" = "aarch64" ]; then
  NATIVE_FLAGS+=(-Xswiftc -target-cpu -Xswiftc native -Xswiftc -DAUTOPRUNE_NATIVE)
fi
if grep -qw fma /proc/cpuinfo 2>/dev/null || [ "$arch" = "aarch64" ]; then
  NATIVE_FLAGS+=(-Xswiftc -DAUTOPRUNE_FMA)
fi
