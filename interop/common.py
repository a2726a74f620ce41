"""Shared by the interop checks: running the autoprune binary and reporting failures."""
import subprocess
import sys


def run(binary, *args):
    """Runs `autoprune ARGS`; stops the check with autoprune's stderr when it fails."""
    result = subprocess.run([binary, *args], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"autoprune {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout


def finish(failures, what):
    """Prints each failure and exits non-zero, or says `what` passed."""
    if failures:
        print("\n".join("FAIL " + f for f in failures))
        sys.exit(1)
    print(f"{what}: all checks passed")
