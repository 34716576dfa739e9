#!/usr/bin/env bash
# Footprint of API Hub Desk beside its floor, a bare eframe app with the same eframe
# features and release profile (benches/floor). Builds both, then prints in one run:
# stripped binary sizes, and RSS under the same Xvfb display (settled = VmRSS after
# 10 s, peak = VmHWM over those 10 s) with 0 and 1,000 demo accounts
# (examples/demo_data.rs, states two hours old so the start-up auto refresh runs),
# each beside the floor's with the difference; and the cost of the embedded CJK subset
# (its compressed size in the binary; RSS with it loaded vs a tiny font given through
# APIHUB_CJK_FONT, i.e. a system face found). The app runs as on a machine without a
# Chinese system font (APIHUB_CJK_FONT=builtin), the case the issue measured.
# Then idle: 1,000 accounts with no refresh due (states fresh) beside the floor, RSS after
# SETTLE_SECS and CPU time used over the IDLE_SECS after that (nothing happens in either
# window: what a window left open all day costs).
#
#     bash benches/footprint.sh            # needs Xvfb (apt-get install xvfb), strip
#
# Both binaries are built unstripped (CARGO_PROFILE_RELEASE_STRIP=false, so one build
# also serves `cargo bloat`) and stripped copies are measured: the same for both.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_PROFILE_RELEASE_STRIP=false
SETTLE_SECS=${SETTLE_SECS:-10}
IDLE_SECS=${IDLE_SECS:-30}
T=${CARGO_TARGET_DIR:-target}

if [ -z "${FOOTPRINT_NO_BUILD:-}" ]; then # set it to measure what is built already
    echo "building apihub (release) and the demo seeder..." >&2
    cargo build --release --bin apihub >&2
    cargo build --example demo_data >&2
    echo "building the floor (release, its own workspace)..." >&2
    cp Cargo.lock benches/floor/Cargo.lock
    # The shared target dir reuses what the app's build has in common with it.
    cargo build --release --manifest-path benches/floor/Cargo.toml --target-dir "$T" >&2
fi
APP_BIN=${APP_BIN:-$T/release/apihub}

tmp=$(mktemp -d)
xvfb_pid=""
cleanup() {
    [ -n "$xvfb_pid" ] && kill "$xvfb_pid" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

strip -o "$tmp/apihub" "$APP_BIN"
strip -o "$tmp/floor" "$T/release/apihub-floor"
mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
app_size=$(stat -c %s "$tmp/apihub")
floor_size=$(stat -c %s "$tmp/floor")
font_size=$(stat -c %s assets/fonts/cjk-sc-common.otf.z)

# One display for every run.
display=":$((90 + RANDOM % 100))"
Xvfb "$display" -screen 0 1400x900x24 -nolisten tcp >/dev/null 2>&1 &
xvfb_pid=$!
sleep 1
export DISPLAY="$display" APIHUB_LOG=off

# rss BIN [ARGS...] -> "settled_kb peak_kb" after SETTLE_SECS.
rss() {
    "$@" >/dev/null 2>&1 &
    local pid=$!
    sleep "$SETTLE_SECS"
    local settled peak
    settled=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)
    peak=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    echo "${settled:-0} ${peak:-0}"
}
# idle BIN [ARGS...] -> "rss_kb cpu_ms": VmRSS after SETTLE_SECS, then CPU (user + system)
# used over the next IDLE_SECS.
idle() {
    "$@" >/dev/null 2>&1 &
    local pid=$! hz rss t0 t1
    hz=$(getconf CLK_TCK)
    sleep "$SETTLE_SECS"
    rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)
    t0=$(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || echo 0)
    sleep "$IDLE_SECS"
    t1=$(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || echo 0)
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    echo "${rss:-0} $(((t1 - t0) * 1000 / hz))"
}
seed() { # DIR N [AGE_SECS]
    "$T/debug/examples/demo_data" "$1" "$2" "${3:-7200}" >/dev/null
}
mkdir -p "$tmp/d0" "$tmp/d1000" "$tmp/d1000b" "$tmp/d1000fresh"
seed "$tmp/d1000" 1000
seed "$tmp/d1000b" 1000
seed "$tmp/d1000fresh" 1000 0

read -r floor_settled floor_peak < <(rss "$tmp/floor")
# The app caps egui's glyph atlas at 4,096 px wide (src/app/fonts.rs); the bare floor keeps
# egui's default (the GPU's largest texture). The floor with the same cap, for reference.
read -r floor_cap_settled _ < <(FLOOR_ATLAS_SIDE=4096 rss "$tmp/floor")
read -r a0_settled a0_peak < <(APIHUB_CJK_FONT=builtin rss "$tmp/apihub" --data-dir "$tmp/d0")
read -r a1_settled a1_peak < <(APIHUB_CJK_FONT=builtin rss "$tmp/apihub" --data-dir "$tmp/d1000")
read -r nf_settled nf_peak < <(APIHUB_CJK_FONT="$PWD/assets/fonts/ui-sc-subset.otf" rss "$tmp/apihub" --data-dir "$tmp/d1000b")
read -r floor_idle_rss floor_idle_cpu < <(idle "$tmp/floor")
read -r a1_idle_rss a1_idle_cpu < <(APIHUB_CJK_FONT=builtin idle "$tmp/apihub" --data-dir "$tmp/d1000fresh")

kbmb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
row() { # LABEL OURS_KB FLOOR_KB
    printf "%-46s %8s MB   floor %8s MB   +%s MB\n" "$1" "$(kbmb "$2")" "$(kbmb "$3")" "$(kbmb $(($2 - $3)))"
}
echo "git=$(git rev-parse --short HEAD) settle_secs=$SETTLE_SECS display=$display"
printf "%-46s %8s MB   floor %8s MB   +%s MB\n" "stripped binary" "$(mb "$app_size")" "$(mb "$floor_size")" \
    "$(mb $((app_size - floor_size)))"
row "RSS settled, 0 accounts" "$a0_settled" "$floor_settled"
row "RSS peak, 0 accounts" "$a0_peak" "$floor_peak"
row "RSS at 10 s, 1,000 accounts, refresh running" "$a1_settled" "$floor_settled"
row "RSS peak, 1,000 accounts, refresh running" "$a1_peak" "$floor_peak"
row "RSS settled, 1,000 accounts, no refresh due" "$a1_idle_rss" "$floor_idle_rss"
printf "%-46s %8s ms   floor %8s ms   (%s s idle after the %s s above)\n" "CPU while idle, 1,000 accounts" \
    "$a1_idle_cpu" "$floor_idle_cpu" "$IDLE_SECS" "$SETTLE_SECS"
echo "floor with the app's glyph atlas cap (4,096 px wide): RSS settled $(kbmb "$floor_cap_settled") MB, bare $(kbmb "$floor_settled") MB"
echo "embedded CJK subset: $(mb "$font_size") MB in the binary (compressed)"
echo "  RSS settled, 1,000 accounts, subset loaded: $(kbmb "$a1_settled") MB; with a system face instead: $(kbmb "$nf_settled") MB (+$(kbmb $((a1_settled - nf_settled))) MB)"
