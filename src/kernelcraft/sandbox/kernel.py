"""Kernel-enforced confinement for the sandbox child, through raw system calls (ctypes).

No system packages are needed: Landlock and seccomp are plain Linux system calls. Each
function applies one layer to the calling process (irrevocably, for it and any thread it
starts) and returns a short description of what it did, or raises KernelLayerUnavailable
with the reason, so the child can report exactly which layers were active.

- Landlock (Linux >= 5.13): file access only beneath the given read-only roots (the Python
  installation and the package, for imports) and the read-write working directory; from ABI 4
  no TCP bind or connect; from ABI 6 no signals to processes outside the sandbox and no
  abstract Unix sockets.
- seccomp-bpf: system calls that create processes (fork, vfork, clone without CLONE_THREAD,
  clone3), run programs (execve, execveat), open sockets, raise resource limits, signal other
  processes, reach into other processes' memory, or change the system (mount, modules,
  namespaces, io_uring, ...) fail with EPERM (clone3 with ENOSYS, so threads fall back to
  clone). A foreign architecture or the x32 ABI on x86-64 kills the process.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import stat

PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2

# Landlock system calls share one number on every architecture (asm-generic, >= 424).
SYS_LANDLOCK_CREATE_RULESET = 444
SYS_LANDLOCK_ADD_RULE = 445
SYS_LANDLOCK_RESTRICT_SELF = 446
LANDLOCK_CREATE_RULESET_VERSION = 1
LANDLOCK_RULE_PATH_BENEATH = 1

# Filesystem rights (include/uapi/linux/landlock.h), by the ABI that introduced them.
FS_EXECUTE = 1 << 0
FS_WRITE_FILE = 1 << 1
FS_READ_FILE = 1 << 2
FS_READ_DIR = 1 << 3
FS_ABI1 = (1 << 13) - 1  # EXECUTE .. MAKE_SYM
FS_REFER = 1 << 13  # ABI 2
FS_TRUNCATE = 1 << 14  # ABI 3
FS_IOCTL_DEV = 1 << 15  # ABI 5
FILE_RIGHTS = FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE | FS_IOCTL_DEV
NET_BIND_TCP = 1 << 0  # ABI 4
NET_CONNECT_TCP = 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
SCOPE_SIGNAL = 1 << 1

AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
X32_SYSCALL_BIT = 0x40000000
CLONE_THREAD = 0x00010000

# Denied system calls by architecture (numbers from asm/unistd_64.h and asm-generic/unistd.h).
_DENIED_NAMES = (
    "fork vfork execve execveat socket socketpair connect ptrace setrlimit prlimit64 kill tkill tgkill "
    "rt_sigqueueinfo rt_tgsigqueueinfo pidfd_open pidfd_send_signal pidfd_getfd process_vm_readv "
    "process_vm_writev io_uring_setup io_uring_enter io_uring_register open_by_handle_at "
    "name_to_handle_at mount umount2 chroot pivot_root setns unshare bpf perf_event_open userfaultfd "
    "keyctl add_key request_key kexec_load kexec_file_load init_module finit_module delete_module "
    "reboot swapon swapoff acct settimeofday clock_settime sethostname setdomainname quotactl "
    "fanotify_init personality chmod fchmod fchmodat fchmodat2 chown fchown lchown fchownat mknod "
    "mknodat iopl ioperm mount_setattr move_mount open_tree fsopen fsmount fsconfig fspick"
).split()
_X86_64 = (
    "fork 57 vfork 58 execve 59 execveat 322 socket 41 socketpair 53 connect 42 ptrace 101 "
    "setrlimit 160 prlimit64 302 kill 62 tkill 200 tgkill 234 rt_sigqueueinfo 129 "
    "rt_tgsigqueueinfo 297 pidfd_open 434 pidfd_send_signal 424 pidfd_getfd 438 "
    "process_vm_readv 310 process_vm_writev 311 io_uring_setup 425 io_uring_enter 426 "
    "io_uring_register 427 open_by_handle_at 304 name_to_handle_at 303 mount 165 umount2 166 "
    "chroot 161 pivot_root 155 setns 308 unshare 272 bpf 321 perf_event_open 298 userfaultfd 323 "
    "keyctl 250 add_key 248 request_key 249 kexec_load 246 kexec_file_load 320 init_module 175 "
    "finit_module 313 delete_module 176 reboot 169 swapon 167 swapoff 168 acct 163 "
    "settimeofday 164 clock_settime 227 sethostname 170 setdomainname 171 quotactl 179 "
    "fanotify_init 300 personality 135 chmod 90 fchmod 91 fchmodat 268 fchmodat2 452 chown 92 "
    "fchown 93 lchown 94 fchownat 260 mknod 133 mknodat 259 iopl 172 ioperm 173 mount_setattr 442 "
    "move_mount 429 open_tree 428 fsopen 430 fsmount 432 fsconfig 431 fspick 433 clone 56 "
    "clone3 435 "
)
_AARCH64 = (
    "execve 221 execveat 281 socket 198 socketpair 199 connect 203 ptrace 117 setrlimit 164 "
    "prlimit64 261 kill 129 tkill 130 tgkill 131 rt_sigqueueinfo 138 rt_tgsigqueueinfo 240 "
    "pidfd_open 434 pidfd_send_signal 424 pidfd_getfd 438 process_vm_readv 270 "
    "process_vm_writev 271 io_uring_setup 425 io_uring_enter 426 io_uring_register 427 "
    "open_by_handle_at 265 name_to_handle_at 264 mount 40 umount2 39 chroot 51 pivot_root 41 "
    "setns 268 unshare 97 bpf 280 perf_event_open 241 userfaultfd 282 keyctl 219 add_key 217 "
    "request_key 218 kexec_load 104 kexec_file_load 294 init_module 105 finit_module 273 "
    "delete_module 106 reboot 142 swapon 224 swapoff 225 acct 89 settimeofday 170 "
    "clock_settime 112 sethostname 161 setdomainname 162 quotactl 60 fanotify_init 262 "
    "personality 92 fchmod 52 fchmodat 53 fchmodat2 452 fchown 55 fchownat 54 mknodat 33 "
    "mount_setattr 442 move_mount 429 open_tree 428 fsopen 430 fsmount 432 fsconfig 431 "
    "fspick 433 clone 220 clone3 435 "
)


def _table(text: str) -> dict[str, int]:
    words = text.split()
    return {name: int(number) for name, number in zip(words[::2], words[1::2], strict=True)}


SYSCALLS: dict[str, dict[str, int]] = {"x86_64": _table(_X86_64), "aarch64": _table(_AARCH64)}


class KernelLayerUnavailable(Exception):
    """This machine (kernel, architecture, container policy) does not offer the layer."""


def _libc() -> ctypes.CDLL:
    if platform.system() != "Linux":
        raise KernelLayerUnavailable(f"not Linux ({platform.system()})")
    return ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> int:
    if result < 0:
        code = ctypes.get_errno()
        raise KernelLayerUnavailable(
            f"{what} failed: {errno.errorcode.get(code, code)} ({os.strerror(code)})"
        )
    return result


def no_new_privs() -> None:
    """Required before seccomp and Landlock without privileges; also stops set-uid gains."""
    libc = _libc()
    _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")


# ---------------------------------------------------------------------------- Landlock


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("fs", ctypes.c_uint64), ("net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def landlock_abi() -> int:
    libc = _libc()
    libc.syscall.restype = ctypes.c_long
    abi = libc.syscall(SYS_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0), LANDLOCK_CREATE_RULESET_VERSION)
    return _check(int(abi), "landlock_create_ruleset(VERSION)")


def apply_landlock(read_roots: list[str], write_roots: list[str]) -> str:
    """Allow reading beneath read_roots and everything beneath write_roots; deny the rest."""
    libc = _libc()
    libc.syscall.restype = ctypes.c_long
    abi = landlock_abi()
    handled = FS_ABI1 | (FS_REFER if abi >= 2 else 0) | (FS_TRUNCATE if abi >= 3 else 0)
    handled |= FS_IOCTL_DEV if abi >= 5 else 0
    attr = _RulesetAttr(handled, NET_BIND_TCP | NET_CONNECT_TCP if abi >= 4 else 0, 0)
    if abi >= 6:
        attr.scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL
    size = 8 if abi < 4 else (16 if abi < 6 else 24)
    ruleset = _check(
        int(libc.syscall(SYS_LANDLOCK_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), 0)),
        "landlock_create_ruleset",
    )
    read_rights = FS_EXECUTE | FS_READ_FILE | FS_READ_DIR
    try:
        for roots, rights in ((read_roots, read_rights), (write_roots, handled)):
            for root in roots:
                _add_path_rule(libc, ruleset, root, rights & handled)
        no_new_privs()
        _check(int(libc.syscall(SYS_LANDLOCK_RESTRICT_SELF, ruleset, 0)), "landlock_restrict_self")
    finally:
        os.close(ruleset)
    extras = []
    if abi >= 4:
        extras.append("no TCP bind/connect")
    if abi >= 6:
        extras.append("signals and abstract sockets scoped")
    return f"landlock ABI {abi}: files beneath {len(read_roots)} read-only and {len(write_roots)} " + (
        "read-write root(s)" + (f"; {', '.join(extras)}" if extras else "")
    )


def _add_path_rule(libc: ctypes.CDLL, ruleset: int, path: str, rights: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # a root that does not exist grants nothing
    try:
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            rights &= FILE_RIGHTS
        rule = _PathBeneath(rights, fd)
        _check(
            int(
                libc.syscall(
                    SYS_LANDLOCK_ADD_RULE, ruleset, LANDLOCK_RULE_PATH_BENEATH, ctypes.byref(rule), 0
                )
            ),
            f"landlock_add_rule({path})",
        )
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------- seccomp

BPF_LD_W_ABS = 0x20
BPF_JEQ_K = 0x15
BPF_JGE_K = 0x35
BPF_JSET_K = 0x45
BPF_RET_K = 0x06
RET_ALLOW = 0x7FFF0000
RET_KILL_PROCESS = 0x80000000
RET_ERRNO = 0x00050000
OFFSET_NR, OFFSET_ARCH, OFFSET_ARG0 = 0, 4, 16  # struct seccomp_data (args little-endian)


class _SockFilter(ctypes.Structure):
    _fields_ = [
        ("code", ctypes.c_uint16),
        ("jt", ctypes.c_uint8),
        ("jf", ctypes.c_uint8),
        ("k", ctypes.c_uint32),
    ]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(_SockFilter))]


def seccomp_program(machine: str) -> list[tuple[int, int, int, int]]:
    """The BPF program (code, jt, jf, k) for one architecture."""
    table = SYSCALLS.get(machine)
    if table is None:
        raise KernelLayerUnavailable(f"no system call table for architecture {machine}")
    eperm, enosys = RET_ERRNO | errno.EPERM, RET_ERRNO | errno.ENOSYS
    prog = [
        (BPF_LD_W_ABS, 0, 0, OFFSET_ARCH),
        (BPF_JEQ_K, 1, 0, AUDIT_ARCH[machine]),
        (BPF_RET_K, 0, 0, RET_KILL_PROCESS),
        (BPF_LD_W_ABS, 0, 0, OFFSET_NR),
    ]
    if machine == "x86_64":
        prog += [(BPF_JGE_K, 0, 1, X32_SYSCALL_BIT), (BPF_RET_K, 0, 0, RET_KILL_PROCESS)]
    for name in _DENIED_NAMES:
        if name in table:
            prog += [(BPF_JEQ_K, 0, 1, table[name]), (BPF_RET_K, 0, 0, eperm)]
    prog += [(BPF_JEQ_K, 0, 1, table["clone3"]), (BPF_RET_K, 0, 0, enosys)]
    # clone: threads (CLONE_THREAD in the flags, argument 0) pass, new processes do not.
    prog += [
        (BPF_JEQ_K, 0, 4, table["clone"]),
        (BPF_LD_W_ABS, 0, 0, OFFSET_ARG0),
        (BPF_JSET_K, 0, 1, CLONE_THREAD),
        (BPF_RET_K, 0, 0, RET_ALLOW),
        (BPF_RET_K, 0, 0, eperm),
        (BPF_RET_K, 0, 0, RET_ALLOW),
    ]
    return prog


def apply_seccomp() -> str:
    libc = _libc()
    machine = platform.machine()
    prog = seccomp_program(machine)
    filters = (_SockFilter * len(prog))(*(_SockFilter(*ins) for ins in prog))
    fprog = _SockFprog(len(prog), ctypes.cast(filters, ctypes.POINTER(_SockFilter)))
    no_new_privs()
    _check(
        libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0), "prctl(PR_SET_SECCOMP)"
    )
    denied = sum(1 for name in _DENIED_NAMES if name in SYSCALLS[machine])
    return f"seccomp ({machine}): {denied} system calls denied, processes cannot be created"
