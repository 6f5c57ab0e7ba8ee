"""Pure parts of the runtime: capability sets, user resolution, secure joins, cgroup v2 files on a
plain directory, restart decisions, spec round trips, overlay options and log reading."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from stackfile.errors import InvalidSpec, Unavailable
from stackfile.runtime.api import ContainerSpec, Mount, NetworkAttachment, Process, Resources, RestartPolicy
from stackfile.runtime.linux.caps import CAPS, DEFAULT_CAPS, cap_sets
from stackfile.runtime.linux.cgroups import V1Cgroup, V2Cgroup, for_container
from stackfile.runtime.linux.logs import read_logs
from stackfile.runtime.linux.plan import overlay_options
from stackfile.runtime.linux.specjson import spec_from_dict, spec_to_dict
from stackfile.runtime.linux.state import now_rfc3339, to_ns
from stackfile.runtime.linux.supervise import backoff, should_restart
from stackfile.runtime.linux.users import resolve_user

PASSWD = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n"
GROUP = "root:x:0:\napp:x:1000:\nstaff:x:50:app\nwheel:x:10:\n"


def mask(*names: str) -> int:
    return sum(1 << CAPS[n] for n in names)


def test_default_caps_match_docker() -> None:
    sets = cap_sets((), (), privileged=False, root=True)
    assert sets.bounding == sets.effective == sets.permitted == 0xA80425FB == mask(*DEFAULT_CAPS)
    assert sets.inheritable == sets.ambient == 0


def test_cap_add_drop_and_all() -> None:
    sets = cap_sets(("net_admin", "CAP_SYS_PTRACE"), ("MKNOD",), privileged=False, root=True)
    assert sets.bounding == mask(*DEFAULT_CAPS, "NET_ADMIN", "SYS_PTRACE") & ~mask("MKNOD")
    assert cap_sets(("NET_ADMIN",), ("ALL",), privileged=False, root=True).bounding == mask("NET_ADMIN")
    assert cap_sets(("ALL",), ("SYS_ADMIN",), privileged=False, root=True).bounding & mask("SYS_ADMIN") == 0
    non_root = cap_sets(("NET_BIND_SERVICE",), (), privileged=False, root=False)
    assert non_root.effective == non_root.ambient == mask("NET_BIND_SERVICE")
    assert non_root.bounding == mask(*DEFAULT_CAPS)
    with pytest.raises(InvalidSpec, match="NOPE"):
        cap_sets(("NOPE",), (), privileged=False, root=True)


@pytest.mark.parametrize(("spec", "uid", "gid", "groups"), [
    ("", 0, 0, (0,)),
    ("root", 0, 0, (0,)),
    ("app", 1000, 1000, (1000, 50)),
    ("1000", 1000, 1000, (1000, 50)),
    ("app:staff", 1000, 50, (50,)),
    ("4242", 4242, 0, (0,)),
    ("4242:77", 4242, 77, (77,)),
])
def test_resolve_user(spec: str, uid: int, gid: int, groups: tuple[int, ...]) -> None:
    ident = resolve_user(spec, PASSWD, GROUP)
    assert (ident.uid, ident.gid, ident.groups) == (uid, gid, groups)


def test_resolve_user_errors_and_extra_groups() -> None:
    with pytest.raises(InvalidSpec, match="ghost"):
        resolve_user("ghost", PASSWD, GROUP)
    with pytest.raises(InvalidSpec, match="nogroup"):
        resolve_user("app:nogroup", PASSWD, GROUP)
    assert resolve_user("app", PASSWD, GROUP, ("wheel",)).groups == (1000, 10, 50)


def test_cgroup_v2_files_on_a_fake_root(tmp_path: Path) -> None:
    (tmp_path / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    cg = for_container("abc", tmp_path)
    assert isinstance(cg, V2Cgroup)
    cg.create(Resources(memory=64 << 20, memory_swap=96 << 20, cpus=0.5, cpu_shares=1024, pids_limit=50))
    d = tmp_path / "stackfile" / "abc"
    assert (d / "memory.max").read_text() == str(64 << 20)
    assert (d / "memory.swap.max").read_text() == str(32 << 20)
    assert (d / "cpu.max").read_text() == "50000 100000"
    assert (d / "cpu.weight").read_text() == "39"
    assert (d / "pids.max").read_text() == "50"
    assert (tmp_path / "cgroup.subtree_control").read_text() == "+cpu +memory +pids"
    assert cg.procs_files() == [str(d / "cgroup.procs")]
    assert cg.join_files() == []  # v2: the supervisor moves PID 1 through cgroup.procs
    (d / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
    assert cg.oom_kills() == 1
    (d / "cgroup.events").write_text("populated 1\nfrozen 1\n")
    cg.freeze()
    assert (d / "cgroup.freeze").read_text() == "1"


def test_cgroup_v2_limit_without_its_controller_is_refused_before_anything_is_made(tmp_path: Path) -> None:
    (tmp_path / "cgroup.controllers").write_text("cpu hugetlb\n")
    cg = for_container("abc", tmp_path)
    with pytest.raises(Unavailable, match=r"memory/pids limit.*cgroup.controllers: cpu hugetlb") as err:
        cg.create(Resources(memory=1 << 20, cpus=0.5, pids_limit=9))
    assert err.value.hint is not None and "systemd.unified_cgroup_hierarchy=1" in err.value.hint
    assert not (tmp_path / "stackfile").exists()
    cg.create(Resources(cpus=0.5))  # what it has is fine
    assert (tmp_path / "stackfile/abc/cpu.max").read_text() == "50000 100000"


def test_cgroup_v1_files_on_a_fake_root(tmp_path: Path) -> None:
    for c in ("memory", "cpu", "pids", "freezer"):
        (tmp_path / c).mkdir()
    cg = for_container("abc", tmp_path)
    assert isinstance(cg, V1Cgroup)
    cg.create(Resources(memory=1 << 20, cpus=1.5, pids_limit=9))
    assert (tmp_path / "cpu/stackfile/abc/cpu.cfs_quota_us").read_text() == "150000"
    assert (tmp_path / "memory/stackfile/abc/memory.limit_in_bytes").read_text() == str(1 << 20)
    assert (tmp_path / "pids/stackfile/abc/pids.max").read_text() == "9"
    oom = tmp_path / "memory/stackfile/abc/memory.oom_control"
    oom.write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n")
    assert cg.oom_kills() == 2
    # PID 1 joins itself through each created hierarchy's tasks file (cpu and pids: limited here)
    assert cg.join_files() == [str(tmp_path / c / "stackfile/abc/tasks") for c in ("memory", "cpu", "pids",
                                                                                  "freezer")]


@pytest.mark.parametrize(("policy", "code", "restarts", "stopped", "expected"), [
    (RestartPolicy("no"), 1, 0, False, False),
    (RestartPolicy("always"), 0, 5, False, True),
    (RestartPolicy("always"), 0, 0, True, False),
    (RestartPolicy("unless-stopped"), 1, 0, False, True),
    (RestartPolicy("on-failure"), 0, 0, False, False),
    (RestartPolicy("on-failure"), 2, 100, False, True),
    (RestartPolicy("on-failure", 3), 2, 2, False, True),
    (RestartPolicy("on-failure", 3), 2, 3, False, False),
])
def test_should_restart(policy: RestartPolicy, code: int, restarts: int, stopped: bool,
                        expected: bool) -> None:
    assert should_restart(policy, code, restarts, stopped) is expected


def test_backoff_doubles_caps_and_resets() -> None:
    delays, attempt = [], 0
    for _ in range(8):
        delay, attempt = backoff(attempt, 0.5)
        delays.append(delay)
    assert delays[:4] == [0.1, 0.2, 0.4, 0.8] and max(delays) == delays[-1] <= 5
    assert backoff(attempt, 12.0) == (0.1, 1)


def test_spec_round_trip() -> None:
    process = Process(argv=("sh", "-c", "true"), env={"A": "1"}, additional_groups=("staff",), tty=True)
    spec = ContainerSpec(name="x", layers=("/a", "/b"), process=process,
                         mounts=(Mount("bind", "/data", "/srv", read_only=True, options=("nosuid",)),),
                         resources=Resources(memory=5, cpus=0.5),
                         network=NetworkAttachment("path", netns_path="/n"),
                         restart=RestartPolicy("on-failure", 2), labels={"k": "v"}, cap_add=("NET_ADMIN",),
                         ulimits={"nofile": (10, 20)}, sysctls={"net.ipv4.ip_forward": "1"})
    again = spec_from_dict(json.loads(json.dumps(spec_to_dict(spec))))
    assert again == spec


def test_overlay_options_are_relative_and_short_when_long(tmp_path: Path) -> None:
    layers = tuple(str(tmp_path / "layers" / f"{i:064x}") for i in range(3))
    upper, work, short = "containers/c/upper", "containers/c/work", str(tmp_path / "l")
    data = overlay_options(str(tmp_path), layers, upper, work, short)
    assert data.startswith(f"lowerdir=layers/{0:064x}:layers/{1:064x}") and str(tmp_path) not in data
    many = tuple(str(tmp_path / "layers" / f"{i:064x}") for i in range(120))
    data = overlay_options(str(tmp_path), many, upper, work, short)
    assert len(data) < 4000 and data.startswith("lowerdir=l/")
    first = data.split("=")[1].split(":")[0]
    assert os.path.realpath(tmp_path / first) == many[0]
    with pytest.raises(InvalidSpec):
        overlay_options(str(tmp_path), (str(tmp_path / "a:b"),), "u", "w", str(tmp_path / "l"))


def test_read_logs_tail_since(tmp_path: Path) -> None:
    path = tmp_path / "log.json"
    stamps = [f"2026-01-01T00:00:0{i}.000000001Z" for i in range(5)]
    with open(path, "w") as fh:
        for i, stamp in enumerate(stamps):
            stream = "stdout" if i % 2 else "stderr"
            fh.write(json.dumps({"time": stamp, "stream": stream, "log": f"l{i}\n"}) + "\n")
        fh.write("not json\n")
    assert [ln.text for ln in read_logs(str(path))] == ["l0", "l1", "l2", "l3", "l4"]
    assert [ln.text for ln in read_logs(str(path), tail=3)] == ["l3", "l4"]
    assert [ln.text for ln in read_logs(str(path), since=stamps[3])] == ["l3", "l4"]
    assert list(read_logs(str(tmp_path / "missing.json"))) == []


def test_time_format() -> None:
    stamp = now_rfc3339()
    assert len(stamp) == 30 and stamp.endswith("Z") and stamp[10] == "T"
    assert to_ns("1970-01-01T00:00:01.5Z") == 1_500_000_000


def test_pump_splits_lines_streams_and_long_output(tmp_path: Path) -> None:
    from stackfile.runtime.linux.logs import pump

    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    os.write(out_w, b"one\ntw")
    os.write(err_w, b"oops\n")
    os.write(out_w, b"o\n" + b"x" * 40000)
    os.close(out_w)
    os.close(err_w)
    pump({out_r: "stdout", err_r: "stderr"}, str(tmp_path / "log.json"))
    lines = list(read_logs(str(tmp_path / "log.json")))
    short = [(ln.stream, ln.text) for ln in lines if not ln.text.startswith("x")]
    assert [t for s, t in short if s == "stdout"] == ["one", "two"]  # order kept within a stream
    assert [t for s, t in short if s == "stderr"] == ["oops"]
    xs = [ln.text for ln in lines if ln.text.startswith("x")]
    assert [len(x) for x in xs] == [16384, 16384, 40000 - 32768]
