# Background sampler shared by benches/compare_java.sh and benches/ha/run.sh: CPU time used by processes that are not
# descendants of the given root pid, per phase (the phase name is read from a file). Catches load from
# other users of the machine by any name, and the hypervisor's steal time (the `steal` column of /proc/stat's
# `cpu` line: time the VM's CPUs were runnable but the host ran something else), written as "steal@<phase>".
# Usage: sampler.py <root pid> <phase file> <out file>
import os, sys, time
root, phase_file, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
hz = os.sysconf("SC_CLK_TCK")
me = os.getpid()
def scan():
    procs = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
        except OSError:
            continue
        comm = st[st.index("(") + 1:st.rindex(")")]
        f = st[st.rindex(")") + 2:].split()
        procs[int(d)] = (comm, int(f[1]), int(f[11]) + int(f[12]), f[19])  # comm, ppid, utime+stime, starttime
    return procs
def ours(pid, procs):
    while pid > 1 and pid in procs:
        if pid == root or pid == me:
            return True
        pid = procs[pid][1]
    return False
def steal_ticks():
    with open("/proc/stat") as f:
        return int(f.readline().split()[8])  # cpu user nice system idle iowait irq softirq steal
prev, totals, bycomm, steal = {}, {}, {}, {}
first = True
prev_steal = steal_ticks()
while True:
    procs = scan()
    cur_steal = steal_ticks()
    try:
        phase = open(phase_file).read().strip() or "idle"
    except OSError:
        phase = "idle"
    cur = {}
    for pid, (comm, ppid, cpu, start) in procs.items():
        if pid == 2 or ppid == 2 or ours(pid, procs):  # kernel threads (e.g. writeback) and our own tree
            continue
        key = (pid, start)
        cur[key] = cpu
        if first:
            continue
        d = cpu - prev.get(key, 0)  # a new process is charged all its CPU (it started since the last scan)
        if d > 0:
            totals[phase] = totals.get(phase, 0) + d
            bycomm.setdefault(phase, {})[comm] = bycomm.setdefault(phase, {}).get(comm, 0) + d
    if not first:
        steal[phase] = steal.get(phase, 0) + cur_steal - prev_steal
    prev, first, prev_steal = cur, False, cur_steal
    with open(out + ".tmp", "w") as f:
        for ph, t in totals.items():
            top = sorted(bycomm[ph].items(), key=lambda kv: -kv[1])[:4]
            f.write(f"{ph} {t / hz:.1f} " + ",".join(f"{c}:{v / hz:.1f}" for c, v in top) + "\n")
        for ph, t in steal.items():
            f.write(f"steal@{ph} {t / hz:.1f}\n")
    os.replace(out + ".tmp", out)
    time.sleep(0.5)
