# shellcheck shell=bash
# args.sh: the checks bench.sh and micro.sh make of their arguments, written once (sourced;
# each function names the calling script, $0, in its message and exits 2, a usage error).
#   args_unknown ARG      an argument no case of the option loop took
#   args_profile PROFILE  returns unless PROFILE is smoke, quick or full
args_unknown() {
    echo "$(basename "$0"): unknown argument '$1' (try --help)" >&2
    exit 2
}
args_profile() {
    case "$1" in
    smoke | quick | full) return 0 ;;
    esac
    echo "$(basename "$0"): --profile must be smoke, quick or full, not '$1'" >&2
    exit 2
}
