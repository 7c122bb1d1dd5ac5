"""Model-written Python in the sandbox: every escape a model might try is stopped, each with a
result that says what happened. Each test runs one short-lived interpreter."""

from __future__ import annotations

import os
import uuid

import pytest

from kernelcraft.sandbox import SandboxJob, SandboxLimits, capabilities, run_sandboxed

# Reaches os (and so open, fork, system) without importing anything: the classic way out of
# a restricted-builtins Python, which the audit hook and the kernel layers must still stop.
OS_BY_GRAPH = (
    "def _os():\n"
    "    for cls in ().__class__.__base__.__subclasses__():\n"
    "        if cls.__name__ == '_wrap_close':\n"
    "            return cls.__init__.__globals__\n"
    "def _open(*args):\n"
    "    return _os()['__builtins__']['open'](*args)\n"
)


def run(source: str, **limits) -> object:
    job = SandboxJob(source=source, runner="kernelcraft.sandbox.probes:call")
    return run_sandboxed(job, SandboxLimits(**limits) if limits else None)


def test_plain_code_runs_and_returns_json():
    result = run("import math\ndef main():\n    return {'root': math.isqrt(49), 'items': [1, 2]}\n")
    assert result.ok, result.describe()
    assert result.value == {"root": 7, "items": [1, 2]}


def test_reading_a_file_outside_is_refused():
    result = run(OS_BY_GRAPH + "def main():\n    return _open('/etc/hostname').read()\n")
    assert not result.ok and result.error == "refused"
    assert "reading '/etc/hostname' is not allowed" in result.message


def test_open_is_not_a_builtin_and_os_is_not_importable():
    assert "name 'open' is not defined" in run("def main():\n    return open('x')\n").message
    result = run("import os\ndef main():\n    return 1\n")
    assert result.error == "exception" and "import of 'os' is not allowed" in result.message


def test_writing_outside_is_refused_and_nothing_is_written(tmp_path):
    target = tmp_path / f"escape-{uuid.uuid4().hex}"
    source = OS_BY_GRAPH + f"def main():\n    _open({str(target)!r}, 'w').write('x')\n"
    result = run(source)
    assert result.error == "refused" and "only the working directory is writable" in result.message
    assert not target.exists()


def test_spawning_a_process_is_refused():
    result = run(OS_BY_GRAPH + "def main():\n    return _os()['system']('echo escaped')\n")
    assert result.error == "refused" and "starting a process" in result.message
    assert "escaped" not in result.stdout


def test_fork_bomb_is_refused_at_the_first_fork():
    result = run(OS_BY_GRAPH + "def main():\n    while True:\n        _os()['fork']()\n")
    assert result.error == "refused" and "forking is not allowed" in result.message


def test_opening_a_socket_is_refused_at_import():
    source = OS_BY_GRAPH + (
        "def main():\n"
        "    real_import = _os()['__builtins__']['__import__']\n"
        "    sock = real_import('socket').socket()\n"
        "    sock.connect(('1.1.1.1', 80))\n"
    )
    result = run(source)
    assert result.error == "refused" and "importing socket is not allowed" in result.message


def test_allocating_10_gib_is_a_memory_error():
    result = run("def main():\n    return len(bytearray(10 * 1024**3))\n")
    assert result.error == "memory" and "MemoryError" in result.message


def test_an_infinite_loop_is_killed_by_the_cpu_limit():
    result = run("def main():\n    while True:\n        pass\n", cpu_s=1, wall_s=30)
    assert result.error == "cpu_time" and "CPU time" in result.message


def test_the_wall_clock_kills_the_whole_group():
    result = run("def main():\n    while True:\n        pass\n", cpu_s=60, wall_s=1.5)
    assert result.error == "timeout" and "wall-clock" in result.message
    assert result.wall_s < 20


def test_a_huge_result_is_cut_off():
    result = run("def main():\n    return 'x' * (8 << 20)\n", result_bytes=1 << 20)
    assert result.error == "output_too_large"


def test_huge_printed_output_hits_the_file_size_limit():
    result = run("def main():\n    print('x' * (4 << 20))\n", file_bytes=1 << 20)
    assert result.error == "file_size" and "File too large" in result.message
    assert len(result.stdout) <= 4_000


def test_syntax_errors_name_the_line():
    result = run("def main(:\n    pass\n")
    assert result.error == "syntax" and "line 1" in result.message


def test_a_traceback_shows_only_the_jobs_frames():
    result = run("def helper():\n    raise ValueError('bad shape')\n\ndef main():\n    helper()\n")
    assert result.error == "exception" and result.message == "ValueError: bad shape"
    assert "job.py" in result.traceback and "line 2" in result.traceback
    assert "kernelcraft" not in result.traceback


# ---------------------------------------------------------------------------- kernel layers

LAYERS = capabilities()
needs_landlock = pytest.mark.skipif(
    not LAYERS.get("landlock", "").startswith("landlock"), reason="Landlock is not available here"
)
needs_seccomp = pytest.mark.skipif(
    not LAYERS.get("seccomp", "").startswith("seccomp"), reason="seccomp is not available here"
)


def raw(body: str) -> object:
    """Run with the Python guard off: only the kernel layers stand in the way."""
    source = "import os, socket, subprocess\n\ndef main():\n    try:\n" + body + "    except OSError as e:\n"
    source += "        return f'{type(e).__name__}: {e.errno}'\n"
    job = SandboxJob(source=source, runner="kernelcraft.sandbox.probes:call", python_guard=False)
    result = run_sandboxed(job)
    assert result.ok, result.describe()
    return result.value


@needs_landlock
def test_landlock_alone_stops_reading_and_writing_outside(tmp_path):
    assert raw("        return open('/etc/hostname').read()\n") == "PermissionError: 13"
    target = tmp_path / "escape"
    assert raw(f"        open({str(target)!r}, 'w').write('x')\n") == "PermissionError: 13"
    assert not target.exists()
    assert (
        raw("        open('inside.txt', 'w').write('ok')\n        return open('inside.txt').read()\n") == "ok"
    )


@needs_seccomp
def test_seccomp_alone_stops_processes_sockets_and_signals():
    assert raw("        return os.fork()\n") == "PermissionError: 1"
    assert raw("        return subprocess.run(['/bin/true']).returncode\n") == "PermissionError: 1"
    assert raw("        socket.socket()\n") == "PermissionError: 1"
    assert raw(f"        os.kill({os.getpid()}, 0)\n") == "PermissionError: 1"


@needs_seccomp
@pytest.mark.skipif(os.geteuid() != 0, reason="RLIMIT_NPROC=0 also stops threads of a non-root user")
def test_threads_still_work_under_seccomp():
    value = raw(
        "        import threading\n        box = []\n"
        "        t = threading.Thread(target=box.append, args=(1,))\n        t.start(); t.join()\n"
        "        return box\n"
    )
    assert value == [1]


def test_the_seccomp_program_is_well_formed_for_each_architecture():
    from kernelcraft.sandbox import kernel

    for machine in kernel.SYSCALLS:
        prog = kernel.seccomp_program(machine)
        assert len(prog) < 4096  # BPF_MAXINSNS
        for index, (code, jt, jf, _) in enumerate(prog):
            if code in (kernel.BPF_JEQ_K, kernel.BPF_JGE_K, kernel.BPF_JSET_K):
                assert index + 1 + max(jt, jf) < len(prog)
        assert prog[-1] == (kernel.BPF_RET_K, 0, 0, kernel.RET_ALLOW)
        numbers = kernel.SYSCALLS[machine]
        assert len(set(numbers.values())) == len(numbers)  # no number listed twice
