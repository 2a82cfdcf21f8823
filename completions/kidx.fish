# fish completion for kidx(1).
#
# Installed as fish/vendor_completions.d/kidx.fish; any directory in
# $fish_complete_path will do.
#
# tests/check_cli_docs.c compares this file with 'kidx --help' and
# 'kidx COMMAND --help', reading only the lines that start with
# "complete -c kidx -n" (keep to their form):
#   -n __kidx_no_command -a NAME      (no -s/-l): the command NAME;
#   -n __kidx_no_command  -s X -l NAME: an option accepted before the command;
#   -n '__kidx_using CMD' -s X -l NAME: an option of command CMD;
# -s and -l give the short and long spelling (either may be left out).
# Adding an option is one line.

# Prints the command on the command line being completed, if there is one:
# the first word that is neither an option nor the value of -i/--index.
function __kidx_command
    set -l words (commandline -opc)
    set -e words[1]
    while set -q words[1]
        switch $words[1]
            case -i --index
                set -e words[1]
            case '-*'
            case '*'
                echo $words[1]
                return 0
        end
        set -e words[1]
    end
    return 1
end

function __kidx_no_command
    not __kidx_command >/dev/null
end

function __kidx_using
    set -l cmd (__kidx_command)
    and test "$cmd" = "$argv[1]"
end

# No file names unless a command or option takes them.
complete -c kidx -f

complete -c kidx -n __kidx_no_command -a index -d 'Add or update documents from files, directories and JSON Lines'
complete -c kidx -n __kidx_no_command -a search -d 'Print the documents that best match a query'
complete -c kidx -n __kidx_no_command -a get -d 'Print documents as they are stored in the index'
complete -c kidx -n __kidx_no_command -a analyze -d 'Print the terms a text is indexed and searched as'
complete -c kidx -n __kidx_no_command -a stats -d 'Print the size and analysis settings of the index'
complete -c kidx -n __kidx_no_command -a delete -d 'Remove documents from the index'
complete -c kidx -n __kidx_no_command -a optimize -d 'Merge the index into one segment'
complete -c kidx -n __kidx_no_command -a check -d 'Verify the whole index'
complete -c kidx -n __kidx_no_command -a help -d 'Print the help of kidx or of a command'

complete -c kidx -n __kidx_no_command -s h -l help -d 'Print help'
complete -c kidx -n __kidx_no_command -s V -l version -d 'Print the version'
complete -c kidx -n __kidx_no_command -s i -l index -x -a '(__fish_complete_directories)' -d 'Index directory'

complete -c kidx -n '__kidx_using index' -s h -l help -d 'Print help'
complete -c kidx -n '__kidx_using index' -s i -l index -x -a '(__fish_complete_directories)' -d 'Index directory'
complete -c kidx -n '__kidx_using index' -l stem -x -a 'english none' -d 'Stemming, when the index is created'
complete -c kidx -n '__kidx_using index' -l stopwords -x -a 'none english' -d 'Stop words, when the index is created'
complete -c kidx -n '__kidx_using index' -l diacritics -x -a 'on off' -d 'Remove accents, when the index is created'
complete -c kidx -n '__kidx_using index' -l jsonl -r -F -d 'Add the documents of a JSON Lines file'
complete -c kidx -n '__kidx_using index' -l prune -d 'Also remove documents under the paths whose files are gone'
complete -c kidx -n '__kidx_using index' -l forget -d 'Drop the paths from the roots and remove their documents'
complete -c kidx -n '__kidx_using index' -l hidden -d 'Walk hidden files and directories too'
complete -c kidx -n '__kidx_using index' -l no-ignore -d 'Walk what ignore files exclude too'
complete -c kidx -n '__kidx_using index' -s q -l quiet -d 'Print no warnings'
complete -c kidx -n '__kidx_using index' -s v -l verbose -d 'Print every warning'
complete -c kidx -n '__kidx_using index' -l wait -d 'Wait for another writer instead of failing'
complete -c kidx -n '__kidx_using index' -l ram-budget -x -d 'Memory for documents not yet written out'
complete -c kidx -n '__kidx_using index' -l merge-factor -x -d 'Segments of about one size merged into one'
complete -c kidx -n '__kidx_using index' -F

complete -c kidx -n '__kidx_using search' -s h -l help -d 'Print help'
complete -c kidx -n '__kidx_using search' -s i -l index -x -a '(__fish_complete_directories)' -d 'Index directory'
complete -c kidx -n '__kidx_using search' -s k -l limit -x -d 'Print at most N hits'
complete -c kidx -n '__kidx_using search' -l offset -x -d 'Skip the N best hits first'
complete -c kidx -n '__kidx_using search' -l any -d 'Any bare word suffices (default)'
complete -c kidx -n '__kidx_using search' -l all -d 'Every bare word is required'
complete -c kidx -n '__kidx_using search' -l rank -x -a 'tfidf bm25' -d 'Ranking model'
complete -c kidx -n '__kidx_using search' -l k1 -x -d 'BM25 tf saturation'
complete -c kidx -n '__kidx_using search' -l b -x -d 'BM25 length normalisation'
complete -c kidx -n '__kidx_using search' -l title-weight -x -d 'Weight of the title'
complete -c kidx -n '__kidx_using search' -l body-weight -x -d 'Weight of the body'
complete -c kidx -n '__kidx_using search' -l snippet-words -x -d 'Words in each passage'
complete -c kidx -n '__kidx_using search' -l highlight -x -a 'bold brackets none' -d 'How matched words are marked'
complete -c kidx -n '__kidx_using search' -l color -x -a 'auto always never' -d 'When to colour the output'
complete -c kidx -n '__kidx_using search' -l count -d 'Count every matching document exactly'
complete -c kidx -n '__kidx_using search' -l explain -d 'Print each score term by term'
complete -c kidx -n '__kidx_using search' -l json -d 'Print one JSON object per hit'
complete -c kidx -n '__kidx_using search' -l vimgrep -d 'Print PATH:LINE:COLUMN:TEXT per hit, for editors'
complete -c kidx -n '__kidx_using search' -l batch -r -F -d 'Read queries from a file, one per line'

complete -c kidx -n '__kidx_using get' -s h -l help -d 'Print help'
complete -c kidx -n '__kidx_using get' -s i -l index -x -a '(__fish_complete_directories)' -d 'Index directory'
complete -c kidx -n '__kidx_using get' -l title -d 'Print the title instead of the body'
complete -c kidx -n '__kidx_using get' -l json -d 'Print one JSON object per id'
complete -c kidx -n '__kidx_using get' -l json-id -d 'IDs are written in JSON, as search --json prints them'

complete -c kidx -n '__kidx_using analyze' -s h -l help -d 'Print help'
complete -c kidx -n '__kidx_using analyze' -s i -l index -x -a '(__fish_complete_directories)' -d 'Use the analysis of this index'
complete -c kidx -n '__kidx_using analyze' -l stem -x -a 'english none' -d Stemming
complete -c kidx -n '__kidx_using analyze' -l stopwords -x -a 'none english' -d 'Stop words'
complete -c kidx -n '__kidx_using analyze' -l diacritics -x -a 'on off' -d 'Remove accents'

complete -c kidx -n '__kidx_using stats' -s h -l help -d 'Print help'
complete -c kidx -n '__kidx_using stats' -s i -l index -x -a '(__fish_complete_directories)' -d 'Index directory'
complete -c kidx -n '__kidx_using stats' -l json -d 'Print one JSON object'

complete -c kidx -n '__kidx_using delete' -s h -l help -d 'Print help'
complete -c kidx -n '__kidx_using delete' -s i -l index -x -a '(__fish_complete_directories)' -d 'Index directory'
complete -c kidx -n '__kidx_using delete' -l wait -d 'Wait for another writer instead of failing'

complete -c kidx -n '__kidx_using optimize' -s h -l help -d 'Print help'
complete -c kidx -n '__kidx_using optimize' -s i -l index -x -a '(__fish_complete_directories)' -d 'Index directory'
complete -c kidx -n '__kidx_using optimize' -l wait -d 'Wait for another writer instead of failing'

complete -c kidx -n '__kidx_using check' -s h -l help -d 'Print help'
complete -c kidx -n '__kidx_using check' -s i -l index -x -a '(__fish_complete_directories)' -d 'Index directory'
complete -c kidx -n '__kidx_using check' -l json -d 'Print one JSON object'

complete -c kidx -n '__kidx_using help' -s h -l help -d 'Print help'
complete -c kidx -n '__kidx_using help' -x -a 'index search analyze stats delete optimize check help'
