# cds_run <archive name> <command... java <java args...>>: runs the command with class data sharing
# (JDK 17's dynamic AppCDS archive $JAVA_OUT/cds/<name>.jsa) for the JVM it starts: the flags go
# right after the command's word "java". The first run writes the archive of the classes that JVM
# loaded when it ends (under a temporary name, renamed only when the command succeeded: a JVM of
# another lane never maps a half-written one); the next runs map it instead of loading and
# verifying those classes from the jars. mqadmin clusterList: 0.8-1.5 s -> 0.55-1.1 s (8 alternating
# runs). Give each classpath its own name: the JVM checks the classpath, the jars' sizes and times
# and the JDK against the archive, and on any mismatch loads the classes from the jars as before.
# CDS messages are off (-Xlog:cds*=off): callers grep the JVM's output. build.sh removes
# $JAVA_OUT/cds when it fetches or compiles anything. Only jars can be on such a classpath (the JVM
# refuses to write an archive with a non-empty directory on it): hence launch.jar.
# COMPAT_CDS=0 runs the command as it is (no archive). Needs JAVA_OUT. Sourced by
# compat-tests/lib.sh and compat-tests/run.sh.
# shellcheck shell=bash
cds_run() {
    local a="$JAVA_OUT/cds/$1.jsa" tmp="" rc=0 w flags=(-Xlog:cds*=off) cmd=()
    shift
    if [[ "${COMPAT_CDS:-1}" == 0 ]]; then "$@"; return; fi
    if [[ -f "$a" ]]; then
        flags+=(-XX:SharedArchiveFile="$a")
    else
        mkdir -p "$JAVA_OUT/cds"
        tmp="$a.$BASHPID.tmp"
        flags+=(-XX:ArchiveClassesAtExit="$tmp")
    fi
    for w in "$@"; do
        cmd+=("$w")
        if [[ "$w" == java && ${#flags[@]} -gt 0 ]]; then cmd+=("${flags[@]}"); flags=(); fi
    done
    "${cmd[@]}" || rc=$?
    if [[ -n "$tmp" ]]; then
        if [[ $rc == 0 && -s "$tmp" ]]; then mv -f "$tmp" "$a"; else rm -f "$tmp"; fi
    fi
    return $rc
}
