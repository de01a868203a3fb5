#!/usr/bin/env bash
# The GPU figures docs/efficiency.md asks for, in one run of under 10 minutes on one GPU:
#   1. `dist-video bench` on ViT-B/16 8+16f at batch 1 and 32, the frozen encoder in fp32
#      against auto (bf16 where the GPU has it): seconds per step and peak memory of the
#      floor, DiST training, DiST inference and full fine-tuning;
#   2. a shortened `large` demo preset (1400 training clips, 500 CLIP pre-training steps, 6 epochs
#      of DiST): training clips/s with data loading, and where DiST gets in a few hundred steps.
# Each part has its own time limit (4 x 100 s, 240 s), so that one slow part does not take
# the others' time; PARTS="bench" or PARTS="demo" runs one part (two device calls).
#
# Usage: OUT=runs/gpu bash benchmarks/gpu_figures.sh
#        SMOKE=1 OUT=/tmp/gpu bash benchmarks/gpu_figures.sh   (tiny sizes on the CPU: checks the script)
set -uo pipefail
OUT=${OUT:-runs/gpu}
mkdir -p "$OUT"
if [[ "${SMOKE:-0}" == 1 ]]; then
    MODEL=test-tiny DEVICE=cpu BATCHES="1 2" REPEATS=1 PRESET=tiny
    DEMO_SET=(--set dist.optim.epochs=1)
else
    MODEL=ssv2-b16-8+16f DEVICE=cuda BATCHES="1 32" REPEATS=5 PRESET=large
    DEMO_SET=(--set synthetic.train_per_class=100 --set synthetic.val_per_class=20 --set pretrain.steps=500
              --set frame_average.optim.epochs=1 --set frame_average.optim.warmup_epochs=0
              --set dist.optim.epochs=6 --set dist.optim.warmup_epochs=1 --set dist.train.eval_every=3)
fi

{
    python -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(),
torch.cuda.get_device_name() if torch.cuda.is_available() else torch.backends.cpu.get_cpu_capability())"
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>/dev/null || true
} | tee "$OUT/machine.txt"

PARTS=${PARTS:-bench demo}
[[ " $PARTS " == *" bench "* ]] && for batch in $BATCHES; do
    for dtype in fp32 auto; do
        echo "== bench $MODEL batch $batch dtype $dtype"
        timeout 100 dist-video bench "$MODEL" --device "$DEVICE" --batch-size "$batch" --dtype "$dtype" \
            --repeats "$REPEATS" --warmup 1 | tee "$OUT/bench_b${batch}_${dtype}.txt"
    done
done

[[ " $PARTS " == *" demo "* ]] || { echo "done: $OUT"; exit 0; }
echo "== demo, preset $PRESET (shortened)"
/usr/bin/time -v timeout 240 dist-video demo --preset "$PRESET" --out "$OUT/demo" "${DEMO_SET[@]}" \
    2> >(tr '\r' '\n' | grep -v 'it/s' > "$OUT/demo_stderr.txt") | tee "$OUT/demo.txt"
for method in frame_average dist; do
    [[ -f "$OUT/demo/$method/metrics.jsonl" ]] && tail -n 3 "$OUT/demo/$method/metrics.jsonl"
done | tee "$OUT/demo_metrics_tail.txt"
echo "done: $OUT"
