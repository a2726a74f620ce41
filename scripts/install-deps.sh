#!/usr/bin/env bash
# Installs the Debian packages AutoPrune uses, when missing and when we are root with apt:
#   libopenblas0-pthread   OpenBLAS, loaded at run time when AUTOPRUNE_GEMM=blas asks for it
#                          (optional: the built-in kernels are the default; bench and the
#                          tests compare the two when it is there)
#   zlib1g-dev             zlib headers for reading gzip'd IDX files and PNG (required to build)
#   libturbojpeg0          libjpeg-turbo's TurboJPEG, loaded at run time for JPEG image folders
#                          (optional: PNG and IDX data need nothing; the JPEG tests skip without it)
#   openmpi-bin            Open MPI's mpirun and libmpi, loaded at run time under mpirun/srun
#                          (optional: one process needs nothing; the MPI tests skip without it)
#   mpich                  MPICH's mpiexec.hydra and libmpich, the other MPI ABI (Intel MPI, MVAPICH,
#                          Cray MPICH share it); optional: its tests skip without it. Open MPI stays
#                          the default `mpirun` (its alternative has the higher priority)
#   dataset-fashion-mnist  full Fashion-MNIST (optional: a subset ships in the package)
# Nothing else is needed. Set AUTOPRUNE_SKIP_DEPS=1 to skip.
set -uo pipefail
[ "${AUTOPRUNE_SKIP_DEPS:-0}" = 1 ] && exit 0
missing=()
[ -e /usr/include/zlib.h ] || missing+=(zlib1g-dev)
ldconfig -p 2>/dev/null | grep -q 'libopenblas.so.0' || missing+=(libopenblas0-pthread)
ldconfig -p 2>/dev/null | grep -q 'libturbojpeg.so.0' || missing+=(libturbojpeg0)
command -v mpirun.openmpi >/dev/null || missing+=(openmpi-bin)
command -v mpiexec.hydra >/dev/null || missing+=(mpich)
[ -d /usr/share/datasets/fashion-mnist ] || missing+=(dataset-fashion-mnist)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "install-deps: installing ${missing[*]}" >&2
# apt-install.sh says why when it cannot (not root, no apt-get, apt-get failing).
"$(dirname "$0")/apt-install.sh" "${missing[@]}" \
  || echo "install-deps: could not install ${missing[*]}; continuing without (OpenBLAS, libturbojpeg, Open MPI, MPICH and full data are optional)" >&2
exit 0
