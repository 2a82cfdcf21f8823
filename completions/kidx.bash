# bash completion for kidx(1)                                  -*- sh -*-
#
# Installed as bash-completion/completions/kidx, where bash-completion
# loads it the first time kidx is completed; it can also be sourced by
# hand (". completions/kidx.bash"), as it needs nothing from
# bash-completion.
#
# tests/check_cli_docs.c compares this file with 'kidx --help' and
# 'kidx COMMAND --help', reading only these lines (keep to their form):
#   _kidx_commands='...'     the commands;
#   _kidx_opts_global='...'  the options accepted before the command;
#   _kidx_opts_NAME='...'    the options of command NAME.
# Each is one line of words in single quotes.  An option that takes a value
# ends in '=', which is not part of its name: that is how completion knows
# that the next word is the value (see _kidx_values for what is offered).
# Adding an option is one word on its command's line (and, if its values
# are fixed choices or file names, one case in _kidx_values).

_kidx_commands='index search get analyze stats delete optimize check help'
_kidx_opts_global='-i= --index= -h --help -V --version'
_kidx_opts_index='-i= --index= -h --help --stem= --stopwords= --diacritics= --jsonl= --prune --forget --hidden --no-ignore -q --quiet -v --verbose --wait --ram-budget= --merge-factor='
_kidx_opts_search='-i= --index= -h --help -k= --limit= --offset= --any --all --rank= --k1= --b= --title-weight= --body-weight= --snippet-words= --highlight= --color= --count --explain --json --vimgrep --batch='
_kidx_opts_get='-i= --index= -h --help --title --json --json-id'
_kidx_opts_analyze='-i= --index= -h --help --stem= --stopwords= --diacritics='
_kidx_opts_stats='-i= --index= -h --help --json'
_kidx_opts_delete='-i= --index= -h --help --wait'
_kidx_opts_optimize='-i= --index= -h --help --wait'
_kidx_opts_check='-i= --index= -h --help --json'
_kidx_opts_help='-h --help'

# _kidx_reply WORDS CUR: the words that start with CUR.
_kidx_reply() {
  local IFS=$' \t\n'
  # shellcheck disable=SC2207
  COMPREPLY=($(compgen -W "$1" -- "$2"))
}

# _kidx_paths KIND CUR: file (-f) or directory (-d) names starting with
# CUR, one per line so that names with spaces stay whole.
_kidx_paths() {
  local IFS=$'\n'
  # shellcheck disable=SC2207
  COMPREPLY=($(compgen "$1" -- "$2"))
  compopt -o filenames 2>/dev/null
}

# _kidx_values OPTION CUR: completes the value of OPTION.  Numbers and
# sizes have nothing to offer.
_kidx_values() {
  case $1 in
  -i | --index) _kidx_paths -d "$2" ;;
  --jsonl | --batch) _kidx_paths -f "$2" ;; # or - for standard input
  --stem) _kidx_reply 'english none' "$2" ;;
  --stopwords) _kidx_reply 'none english' "$2" ;;
  --diacritics) _kidx_reply 'on off' "$2" ;;
  --rank) _kidx_reply 'tfidf bm25' "$2" ;;
  --highlight) _kidx_reply 'bold brackets none' "$2" ;;
  --color) _kidx_reply 'auto always never' "$2" ;;
  esac
}

# _kidx_takes_value OPTION OPTS: whether OPTION is listed in OPTS with '='.
_kidx_takes_value() {
  [[ " $2 " == *" $1= "* ]]
}

_kidx() {
  local cur=${COMP_WORDS[COMP_CWORD]} cword=$COMP_CWORD
  local -a words=("${COMP_WORDS[@]}")
  COMPREPLY=()

  # With '=' in COMP_WORDBREAKS (the default), "--stem=en" arrives as the
  # three words "--stem", "=", "en": complete the value of --stem.
  if [[ $cur == = && ${words[cword - 1]} == --* ]]; then
    _kidx_values "${words[cword - 1]}" ''
    return 0
  fi
  if [[ ${words[cword - 1]} == = && ${words[cword - 2]} == --* ]]; then
    _kidx_values "${words[cword - 2]}" "$cur"
    return 0
  fi
  # Without it, "--stem=en" is one word: complete after the '=', and put
  # the option back in front of each value.
  if [[ $cur == --*=* ]]; then
    local opt=${cur%%=*}
    _kidx_values "$opt" "${cur#*=}"
    local i
    for i in "${!COMPREPLY[@]}"; do
      COMPREPLY[i]=$opt=${COMPREPLY[i]}
    done
    return 0
  fi

  # Find the command: the first word that is neither an option nor the
  # value of one.  Words after "--" are arguments, never options.
  local cmd='' opts=$_kidx_opts_global word i=1 dashdash=''
  while ((i < cword)); do
    word=${words[i]}
    if [[ -n $dashdash ]]; then
      [[ -z $cmd ]] && _kidx_set_cmd "$word"
    elif [[ $word == -- ]]; then
      dashdash=1
    elif [[ ${words[i + 1]} == = && $word == --* ]]; then
      ((i += 2)) # --option = value
    elif [[ $word == -* ]]; then
      _kidx_takes_value "$word" "$opts" && ((i++))
    elif [[ -z $cmd ]]; then
      _kidx_set_cmd "$word"
    fi
    ((i++))
  done

  # The value of the option before the cursor.
  if ((i == cword + 1)) && [[ -z $dashdash ]]; then
    _kidx_values "${words[cword - 1]}" "$cur"
    return 0
  fi

  if [[ -z $dashdash && $cur == -* ]]; then
    _kidx_reply "${opts//=/}" "$cur"
    return 0
  fi
  case $cmd in
  '' | help) _kidx_reply "$_kidx_commands" "$cur" ;;
  index) _kidx_paths -f "$cur" ;; # PATH...
  esac
  return 0
}

# _kidx_set_cmd WORD: sets _kidx's cmd to WORD and its opts to that
# command's options (none for an unknown command).
_kidx_set_cmd() {
  cmd=$1
  opts=''
  if [[ " $_kidx_commands " == *" $1 "* ]]; then
    local var=_kidx_opts_$1
    opts=${!var}
  fi
}

complete -F _kidx kidx
