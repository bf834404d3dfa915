// Syscalls and macros Swift cannot reach directly (variadic syscall(2), wait status macros).
#ifndef DIRECTORD_CPLATFORM_SHIM_H
#define DIRECTORD_CPLATFORM_SHIM_H
#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <errno.h>
#include <netpacket/packet.h>
#include <net/ethernet.h>
#include <linux/filter.h>
#include <malloc.h>
#include <spawn.h>

static inline int directord_pidfd_open(pid_t pid) {
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    errno = ENOSYS;
    return -1;
#endif
}

// setns(2) and CLONE_NEWNET are declared only under _GNU_SOURCE too.
static inline int directord_setns_net(int fd) {
#ifdef SYS_setns
    return (int)syscall(SYS_setns, fd, 0x40000000 /* CLONE_NEWNET */);
#else
    errno = ENOSYS;
    return -1;
#endif
}

// pipe2 is declared only under _GNU_SOURCE, which would make this module's libc headers differ from Foundation's.
static inline int directord_pipe_cloexec(int fds[2]) { return (int)syscall(SYS_pipe2, fds, O_CLOEXEC); }

// accept4 likewise (the flags come from Swift: including <sys/socket.h> here would make this module's socket
// declarations differ from Glibc's).
static inline int directord_accept4(int fd, int flags) { return (int)syscall(SYS_accept4, fd, NULL, NULL, flags); }

// struct ucred too is declared only under _GNU_SOURCE: the kernel's layout of what SO_PEERCRED answers.
struct directord_peer_credentials {
    pid_t pid;
    uid_t uid;
    gid_t gid;
};

static inline int directord_wifexited(int status) { return WIFEXITED(status); }
static inline int directord_wexitstatus(int status) { return WEXITSTATUS(status); }
static inline int directord_wifsignaled(int status) { return WIFSIGNALED(status); }
static inline int directord_wtermsig(int status) { return WTERMSIG(status); }

// glibc 2.34+ declares this only under _GNU_SOURCE (see pipe2 above). It closes every descriptor from `from` on in
// the child: SwiftNIO opens its sockets without close-on-exec, and a script must not inherit them.
extern int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *actions, int from);
static inline int directord_spawn_closefrom(posix_spawn_file_actions_t *actions, int from) {
    return posix_spawn_file_actions_addclosefrom_np(actions, from);
}

// glibc's allocator tuning (mallopt's option constants are macros).
static inline int directord_malloc_arena_max(int arenas) { return mallopt(M_ARENA_MAX, arenas); }
static inline int directord_malloc_trim(void) { return malloc_trim(0); }

// prctl(2) is variadic, which Swift cannot call.
#include <sys/prctl.h>
static inline int directord_thp_disable(void) { return prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0); }
static inline int directord_thp_disabled(void) { return prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0); }
static inline int directord_set_thread_name(const char *name) { return prctl(PR_SET_NAME, name, 0, 0, 0); }

// A thread's own nice value: on Linux setpriority(PRIO_PROCESS, tid) sets one thread's.
#include <sys/resource.h>
static inline int directord_thread_nice(void) {
    errno = 0;
    return getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid));
}
static inline int directord_set_thread_nice(int nice) {
    return setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), nice);
}
// The stop signals (SIGTERM, SIGINT): the handler only writes the signal's number down a pipe, which is
// async-signal-safe; a thread of directord's own reads it. In C because a Swift closure is no signal handler.
#include <signal.h>
#include <string.h>
static int directord_stop_signal_fd = -1;
static void directord_stop_signal_handler(int sig) {
    int saved = errno;
    unsigned char byte = (unsigned char)sig;
    ssize_t written = write(directord_stop_signal_fd, &byte, 1);
    (void)written;  // a full pipe already holds a stop request
    errno = saved;
}
static inline int directord_catch_stop_signal(int sig, int fd) {
    directord_stop_signal_fd = fd;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = directord_stop_signal_handler;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    return sigaction(sig, &action, NULL);
}
// epoll(7) and eventfd(2) for the reactor (Glibc's Swift module carries neither).
#include <sys/epoll.h>
#include <sys/eventfd.h>
static inline int directord_eventfd(void) { return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); }
static inline int directord_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }
#endif
