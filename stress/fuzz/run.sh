#!/usr/bin/env bash
# Fuzzes GoMap.ReadFrom with afl++ and SharpFuzz (see the README's "Running" section).
#
#   stress/fuzz/run.sh [SECONDS]     fuzz for SECONDS (default 1800), then minimize the queue
#
# Needs Debian's afl++ (apt-get install -y afl++) and the .NET SDK; installs the SharpFuzz
# instrumenter from this folder's tool manifest. Works in $FUZZ_OUT (default stress/fuzz/out,
# ignored by git; afl-cmin refuses /tmp): the instrumented build, afl's findings, the
# minimized corpus (cmin/), and fuzz.log. To keep it: copy cmin/'s files into corpus/ (the
# crash-* files stay: they are the inputs of bugs fuzzing found), replace the min-* files it
# supersedes, and write corpus.sha256 again (cd corpus && sha256sum * > ../corpus.sha256), which
# the tests compare with the corpus. Exits 1 when afl saved a crash or a hang.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=${FUZZ_OUT:-$here/out}
seconds=${1:-1800}

command -v afl-fuzz >/dev/null || { echo "afl-fuzz not found: apt-get install -y afl++" >&2; exit 2; }
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet=$(command -v dotnet) # afl's tools want the target's path

# 1. Build the target into its own folder.
(cd "$here" && dotnet tool restore >/dev/null)
rm -rf "$out/bin" "$out/in" "$out/findings" "$out/cmin"
mkdir -p "$out/in"
dotnet publish "$repo/stress/NativeGoMap.Fuzz" -c Release -o "$out/bin" >/dev/null

# 2. Inputs: the corpus kept in the repository plus freshly written seeds (written before the
#    instrumentation: instrumented code runs only under afl-fuzz).
cp "$here"/corpus/* "$out/in/" 2>/dev/null || true
dotnet "$out/bin/NativeGoMap.Fuzz.dll" seeds "$out/in"

# 3. Instrument the library in that folder only: the tests and the stress program keep the plain build.
(cd "$here" && dotnet tool run sharpfuzz "$out/bin/NativeGoMap.dll")

# 4. Fuzz. The target is "dotnet", which afl cannot see instrumented; SharpFuzz reports coverage.
export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
afl-fuzz -i "$out/in" -o "$out/findings" -t 5000 -m none -V "$seconds" -- "$dotnet" "$out/bin/NativeGoMap.Fuzz.dll" | tee "$out/fuzz.log"

# 5. Keep the smallest set of inputs that covers every path found.
afl-cmin -i "$out/findings/default/queue" -o "$out/cmin" -t 5000 -m none -- "$dotnet" "$out/bin/NativeGoMap.Fuzz.dll"
echo "stats:"; grep -E 'run_time|execs_done|execs_per_sec|corpus_count|saved_crashes|saved_hangs|bitmap_cvg' "$out/findings/default/fuzzer_stats"
echo "minimized corpus: $(ls "$out/cmin" | wc -l) files in $out/cmin"

# 6. A finding fails the run: name the inputs and how to replay them with a plain build.
stat() { awk -v k="$1" '$1 == k { print $3 }' "$out/findings/default/fuzzer_stats"; }
crashes=$(stat saved_crashes); hangs=$(stat saved_hangs)
if [ "${crashes:-0}" -ne 0 ] || [ "${hangs:-0}" -ne 0 ]; then
  echo "afl saved $crashes crashes and $hangs hangs:" >&2
  ls "$out/findings/default/crashes" "$out/findings/default/hangs" >&2
  echo "replay: dotnet run -c Release --project stress/NativeGoMap.Fuzz -- replay $out/findings/default/crashes $out/findings/default/hangs" >&2
  exit 1
fi
