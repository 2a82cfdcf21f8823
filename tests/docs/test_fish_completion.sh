#!/bin/sh
# The fish completion (completions/kidx.fish) at work, through fish's own
# 'complete -C', for command lines whose completions are known.  Run only
# where fish is installed.
# Usage: test_fish_completion.sh FISH COMPLETION_SCRIPT
set -u
fish=$1
script=$2
work=$(mktemp -d) || exit 1
trap 'rm -rf "$work"' EXIT
mkdir "$work/docs" "$work/sub dir"
touch "$work/a.jsonl" "$work/q.txt"
cd "$work" || exit 1

failed=0
# expect 'REPLIES' 'COMMAND LINE': completing at the end of the line
# offers exactly REPLIES (sorted, space-separated).
expect() {
  got=$("$fish" --no-config -c "source '$script'; complete -C '$2'" |
    cut -f1 | LC_ALL=C sort | paste -sd' ' -)
  if [ "$got" != "$1" ]; then
    echo "FAIL: [$2]: got '$got', want '$1'"
    failed=1
  fi
}

expect 'analyze check delete get help index optimize search stats' 'kidx '
expect '--help --index --version -V -h -i' 'kidx -'
expect '--stem --stopwords' 'kidx index --st'
expect 'english none' 'kidx index --stem '
expect 'bm25 tfidf' 'kidx search --rank '
expect 'docs/ sub dir/' 'kidx -i '
expect 'search' 'kidx -i docs sea'
expect '--highlight' 'kidx -i docs search --hi'
expect '--explain' 'kidx search -k 3 --ex'
expect 'always auto never' 'kidx search --color '
expect 'a.jsonl docs/ q.txt sub dir/' 'kidx index '
expect 'a.jsonl docs/ q.txt sub dir/' 'kidx search --batch '
expect 'analyze check delete get help index optimize search stats' 'kidx help '
expect '--help --index --json -h -i' 'kidx check -'

[ "$failed" -eq 0 ] || exit 1
echo "fish completion: all cases passed"
