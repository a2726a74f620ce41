#!/usr/bin/env bash
# Runs every recipe of the reproduction tables and writes REPRODUCTION.md from their summaries.
#   scripts/reproduce.sh           full: 3 seeds, full Fashion-MNIST (planned to fit 3 hours on 2 cores)
#   scripts/reproduce.sh --quick   smoke run: 1 seed, bundled subset, a few epochs (minutes); its
#                                  figures only show that the pipeline works
#   scripts/reproduce.sh --tables  only rewrite REPRODUCTION.md from the runs that finished
# Seeds that finished (summary.json present) are skipped and an interrupted seed resumes from its
# checkpoint, so an interrupted run goes on where it stopped; delete runs/reproduce to start over.
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0
tables_only=0
[ "${1:-}" = "--quick" ] && quick=1
[ "${1:-}" = "--tables" ] && tables_only=1
B=.build/release/autoprune
# Tables only need the table command of an existing build.
if [ $tables_only = 0 ] || [ ! -x "$B" ]; then
  scripts/install-deps.sh
  scripts/build.sh >&2
fi
root=runs/reproduce
[ $quick = 1 ] && root=runs/reproduce-quick
seeds=3
dense_extra=()
prune_extra=()
if [ $quick = 1 ]; then
  seeds=1
  dense_extra=(--set data=bundled --set epochs=10)
  prune_extra=(--set data=bundled --set prune-epochs=10 --set finetune-epochs=3)
fi

# Dense models first (every pruning recipe starts from its seed's dense model), then AutoPrune
# runs before the scratch recipes that read their masks; the main tables of both networks come
# before the LeNet-300-100 ablations, the slow L0 sweep last.
dense=(lenet300-dense lenet5-dense)
main300=(lenet300-autoprune-weight lenet300-magnitude-weight lenet300-magnitude-layerwise-weight lenet300-iterative-weight
         lenet300-gradual-weight lenet300-dns-weight lenet300-l0-weight lenet300-targeted-dropout-weight lenet300-random-weight
         lenet300-autoprune-unit lenet300-l0-unit)
ste=(lenet300-ste-identity lenet300-ste-leaky-0.01 lenet300-ste-leaky-0.3 lenet300-ste-softplus-1 lenet300-ste-softplus-5
     lenet300-ste-leaky-0.1-penalty-only)
consistency=(lenet300-sensitivity-magnitude lenet300-correlation-off lenet300-masked-frozen lenet300-closed-decay-skip
             lenet300-closed-decay-apply)
# λ 1e-4 is lenet300-l0-weight and μ 7e-5 is lenet300-autoprune-weight (main table): not run twice.
sensitivity=(lenet300-mu-1e-5 lenet300-mu-3e-5 lenet300-mu-1e-4 lenet300-mu-3e-4 lenet300-mu-1e-3
             lenet300-l0-1e-5 lenet300-l0-1e-3 lenet300-dns-c1 lenet300-dns-c2 lenet300-dns-c3
             lenet300-l0-3e-5 lenet300-l0-3e-4)
rethinking300=(lenet300-rethinking-scratch lenet300-rethinking-scratch-unit)
main5=(lenet5-autoprune-weight lenet5-autoprune-unit lenet5-magnitude-weight)
rethinking5=(lenet5-rethinking-scratch)
# DNS and L0 on LeNet-5 keep LeNet-300's c and λ (calibrating them would cost hours here): last.
uncalibrated5=(lenet5-dns-weight lenet5-l0-weight)

run() {
  local name=$1 args=(run "recipes/$1.yaml" --seeds "$seeds" --out-dir "$root/$1" --resume "$root/$1")
  local model=${name%%-*}
  if [[ $name == *-dense ]]; then
    args+=("${dense_extra[@]}")
  else
    args+=("${prune_extra[@]}")
    # Recipe paths point at runs/NAME: redirect them under $root.
    if [[ $name == *rethinking-scratch* ]]; then
      local source=$model-autoprune-weight
      [[ $name == *-unit ]] && source=$model-autoprune-unit
      args+=(--set "masks=$root/$source/seed-{seed}/model.safetensors")
    else
      args+=(--set "weights=$root/$model-dense/seed-{seed}/model.safetensors")
    fi
  fi
  echo "== $name ($(date -u +%H:%M:%S))" >&2
  "$B" "${args[@]}" >> "$root/$name.out" 2>&1 || { echo "$name failed: see $root/$name.out" >&2; exit 1; }
}

mkdir -p "$root"
start=$(date +%s)
[ $tables_only = 1 ] || for group in dense main300 main5 rethinking300 rethinking5 ste consistency sensitivity uncalibrated5; do
  declare -n list=$group
  for name in "${list[@]}"; do run "$name"; done
done
elapsed=$(( $(date +%s) - start ))

# Experiments with no finished seed yet are left out (and listed), so partial runs still tabulate.
table() {
  local dirs=() missing=()
  for n in "$@"; do
    if compgen -G "$root/$n/seed-*/summary.json" > /dev/null; then dirs+=("$root/$n"); else missing+=("$n"); fi
  done
  [ ${#dirs[@]} -gt 0 ] && "$B" table "${dirs[@]}" --format md
  [ ${#missing[@]} -gt 0 ] && echo && echo "Not run yet: ${missing[*]}."
  return 0
}
{
  echo "# Reproduction (Fashion-MNIST)"
  echo
  [ $quick = 1 ] && echo "**Quick smoke run** (\`scripts/reproduce.sh --quick\`: 1 seed, bundled 2,000-image subset, short schedules): these figures only show the pipeline works." && echo
  if [ $tables_only = 1 ]; then
    echo "Tables from the runs that \`scripts/reproduce.sh\` made under \`$root\` (rewritten by \`scripts/reproduce.sh --tables\`), $(date -u +%Y-%m-%d), $(nproc) cores."
  else
    echo "Made by \`scripts/reproduce.sh ${1:-}\` ($elapsed s for this invocation; seeds already finished are not rerun), $(date -u +%Y-%m-%d), $(nproc) cores."
  fi
  echo
  echo "Each row is one recipe (\`recipes/NAME.yaml\`, run with \`autoprune run recipes/NAME.yaml --seeds $seeds\`), mean ± std over seeds; every pruning run of a seed starts from that seed's dense model (\`*-dense\` rows). s/epoch is wall time with other work sharing the 2 cores (not a speed figure: see docs/bench.md)."
  echo
  echo "The AutoPrune recipes pin \`gate-clock: step\` (METHOD's per-step rule with an absolute μ and the η_M each recipe gives, 10 unless it says), so these rows stand as they are since the tool's default became the phase clock (issue 17); the phase clock's own figures and its sensitivity to μ are in [docs/pruning.md](docs/pruning.md#the-phase-clock-defaults-that-do-not-depend-on-the-data-sets-size)."
  echo; echo "## 1. Main: LeNet-300-100, methods at AutoPrune's compression"; echo; table lenet300-dense "${main300[@]}"
  echo; echo "## 1b. Main: LeNet-5"; echo; table lenet5-dense "${main5[@]}" "${uncalibrated5[@]}"
  echo; echo "## 2. STE ablation (LeNet-300-100; the main run uses leaky-ReLU 0.1)"; echo; table lenet300-autoprune-weight "${ste[@]}"
  echo; echo "## 3. Consistency ablation (LeNet-300-100)"; echo; echo "\"Correlation consistency off\" drops sgn(w) from the gate's data term (it uses g alone)."; echo; table lenet300-autoprune-weight "${consistency[@]}"
  echo; echo "## 4. Hyper-parameter sensitivity: AutoPrune μ, L0 λ, DNS c (LeNet-300-100)"; echo; table lenet300-mu-1e-5 lenet300-mu-3e-5 lenet300-autoprune-weight lenet300-mu-1e-4 lenet300-mu-3e-4 lenet300-mu-1e-3 lenet300-l0-1e-5 lenet300-l0-3e-5 lenet300-l0-weight lenet300-l0-3e-4 lenet300-l0-1e-3 lenet300-dns-c1 lenet300-dns-c2 lenet300-dns-c3 lenet300-dns-weight
  echo; echo "## 5. Rethinking: pruned + fine-tuned vs the same masks trained from scratch"; echo; table lenet300-autoprune-weight lenet300-autoprune-unit "${rethinking300[@]}" lenet5-autoprune-weight "${rethinking5[@]}"
  # The reading of the committed full run (where AutoPrune wins and where it does not).
  if [ $quick = 0 ] && [ -f docs/reproduction-findings.md ]; then echo; cat docs/reproduction-findings.md; fi
} > "$root/REPRODUCTION.md"
if [ $quick = 0 ]; then cp "$root/REPRODUCTION.md" REPRODUCTION.md; fi
echo "wrote $root/REPRODUCTION.md" >&2
