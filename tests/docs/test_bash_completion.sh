#!/bin/bash
# The bash completion (completions/kidx.bash) at work: sources it and calls
# _kidx as bash does, with COMP_WORDS and COMP_CWORD set, for command lines
# whose completions are known.  Which options each command has is
# check_cli_docs's business; this checks what the script does with them.
# Usage: test_bash_completion.sh COMPLETION_SCRIPT
set -u
script=$1
# shellcheck source=/dev/null
. "$script" || exit 1

work=$(mktemp -d) || exit 1
trap 'rm -rf "$work"' EXIT
mkdir "$work/docs" "$work/sub dir"
touch "$work/a.jsonl" "$work/q.txt"
cd "$work" || exit 1

failed=0
# expect 'REPLIES' WORD...: completing the last WORD (the cursor is at its
# end) offers exactly REPLIES (separated by '|', as names have spaces), in
# any order.
expect() {
  local want=$1
  shift
  COMP_WORDS=("$@")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMPREPLY=()
  _kidx
  local got
  got=$(printf '%s\n' "${COMPREPLY[@]}" | LC_ALL=C sort | paste -sd'|' -)
  want=$(printf '%s\n' "$want" | tr '|' '\n' | LC_ALL=C sort | paste -sd'|' -)
  if [[ $got != "$want" ]]; then
    echo "FAIL: [${COMP_WORDS[*]}]: got '$got', want '$want'"
    failed=1
  fi
}

expect 'index|search|get|analyze|stats|delete|optimize|check|help' kidx ''
expect 'search|stats' kidx s
expect '-i|--index|-h|--help|-V|--version' kidx -
expect 'docs|sub dir' kidx -i ''
expect 'search|stats' kidx -i docs s
expect 'search|stats' kidx --index=docs s
expect '--stem|--stopwords' kidx index --st
expect 'english|none' kidx index --stem ''
expect 'english' kidx index --stem e
expect 'on|off' kidx analyze --diacritics ''
expect 'tfidf|bm25' kidx search --rank ''
expect 'bold|brackets' kidx search --highlight b
expect 'auto|always|never' kidx search --color ''
expect '--rank' kidx -i docs search --ra
expect '--explain' kidx search -k 3 --ex
expect '' kidx search -k ''
expect 'a.jsonl|docs|q.txt|sub dir' kidx search --batch ''
expect 'a.jsonl' kidx index --jsonl a
expect 'a.jsonl|docs|q.txt|sub dir' kidx index ''
expect '' kidx index -- -
expect '' kidx search foo -- -
expect 'search|stats' kidx help s
expect '-h|--help' kidx help -
expect '--json|--json-id' kidx get --js
expect '-i|--index|-h|--help|--json' kidx stats -
expect '' kidx frobnicate -
# With '=' in COMP_WORDBREAKS, bash splits --stem=e into three words.
expect 'english' kidx index --stem = e
expect 'english|none' kidx index --stem =
expect '--rank' kidx --index = docs search --ra
# Without, it is one word.
expect '--stem=english' kidx index --stem=e

if [[ $failed -ne 0 ]]; then
  exit 1
fi
echo "bash completion: all cases passed"
