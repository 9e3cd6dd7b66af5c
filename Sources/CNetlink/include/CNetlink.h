// CNetlink: the C side of HostInspect's sock_diag (INET_DIAG) reader.
//
// Everything that touches kernel structs (nlmsghdr, inet_diag_req_v2, inet_diag_msg) lives here;
// Swift only sees the flat `cnl_tcp_socket` rows.

#ifndef CNETLINK_H
#define CNETLINK_H

#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>
#include <netinet/in.h>

#if defined(__linux__)
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/inet_diag.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__linux__)
// MARK: - NLMSG_* macros as functions (Swift cannot import function-like macros)

static inline uint32_t cnl_nlmsg_align(uint32_t len) { return NLMSG_ALIGN(len); }

static inline uint32_t cnl_nlmsg_length(uint32_t len) { return NLMSG_LENGTH(len); }

static inline void *cnl_nlmsg_data(struct nlmsghdr *nlh) { return NLMSG_DATA(nlh); }

static inline int cnl_nlmsg_ok(const struct nlmsghdr *nlh, long len) {
    return NLMSG_OK(nlh, len) ? 1 : 0;
}

/// Advances to the next message; `*len` is decremented by the aligned length of `nlh`.
static inline struct nlmsghdr *cnl_nlmsg_next(struct nlmsghdr *nlh, long *len) {
    int remaining = (int)*len;
    struct nlmsghdr *next = NLMSG_NEXT(nlh, remaining);
    *len = remaining;
    return next;
}
#endif

// MARK: - TCP socket dump

/// Kernel TCP state numbers (include/net/tcp_states.h); uapi has no header for them.
enum {
    CNL_TCP_ESTABLISHED = 1,
    CNL_TCP_SYN_SENT = 2,
    CNL_TCP_SYN_RECV = 3,
    CNL_TCP_FIN_WAIT1 = 4,
    CNL_TCP_FIN_WAIT2 = 5,
    CNL_TCP_TIME_WAIT = 6,
    CNL_TCP_CLOSE = 7,
    CNL_TCP_CLOSE_WAIT = 8,
    CNL_TCP_LAST_ACK = 9,
    CNL_TCP_LISTEN = 10,
    CNL_TCP_CLOSING = 11,
    CNL_TCP_NEW_SYN_RECV = 12,
    CNL_TCP_BOUND_INACTIVE = 13,
};

/// Which address families `cnl_dump_tcp` asks for (one request per family).
enum {
    CNL_DUMP_IPV4 = 1,
    CNL_DUMP_IPV6 = 2,
    /// Also ask for INET_DIAG_INFO (tcp_info) of full sockets: `has_info`, `tcpi_options`.
    CNL_DUMP_INFO = 4,
};

/// One socket as inet_diag_msg reports it, flattened. Addresses are network-order bytes
/// (4 used for AF_INET, 16 for AF_INET6); ports are host order.
typedef struct cnl_tcp_socket {
    uint64_t inode;
    uint32_t rqueue;
    uint32_t wqueue;
    uint32_t expires_ms;
    uint32_t uid;
    uint16_t local_port;
    uint16_t remote_port;
    uint8_t family;  // AF_INET or AF_INET6
    uint8_t state;   // kernel TCP state number (TIME_WAIT sockets report their substate)
    uint8_t timer;   // 0 none, 1 retransmit, 2 keepalive, 3 TIME_WAIT, 4 zero-window probe
    /// 1 when the kernel attached INET_DIAG_INFO (full sockets only: not TIME_WAIT nor request
    /// sockets); then `tcpi_options` is tcp_info's option bits (TCPI_OPT_TIMESTAMPS = 1, ...).
    uint8_t has_info;
    uint8_t tcpi_options;
    uint8_t local_address[16];
    uint8_t remote_address[16];
} cnl_tcp_socket;

/// A growable array of rows, filled by `cnl_dump_tcp`; release with `cnl_tcp_list_free`.
typedef struct cnl_tcp_list {
    cnl_tcp_socket *items;
    size_t count;
    size_t capacity;
    /// Set when the kernel flagged a reply NLM_F_DUMP_INTR (tables changed during the dump).
    int interrupted;
} cnl_tcp_list;

/// Dumps every TCP socket of the calling thread's network namespace, all states (listeners,
/// established and closing sockets, TIME_WAIT sockets and request sockets, which inet_diag
/// reports as SYN_RECV), for the families in `families` (CNL_DUMP_IPV4 | CNL_DUMP_IPV6).
/// Rows are appended to `list`, which grows as needed.
///
/// Returns 0, or a negative errno (-ENOSYS off Linux); then `*failed_step` (if not NULL) names the step that failed
/// ("socket", "sendmsg", "recvmsg", "NLMSG_ERROR", "truncated", "malloc", "sequence") and
/// the rows appended so far stay in `list`.
int cnl_dump_tcp(int families, cnl_tcp_list *list, const char **failed_step);

/// Frees the rows of `list` and resets it to empty. Safe on an empty list.
void cnl_tcp_list_free(cnl_tcp_list *list);

// MARK: - Network namespaces

/// Moves the calling thread (only it: setns(2) with CLONE_NEWNET acts on the calling thread) into
/// the network namespace whose file is `path`, e.g. `/run/netns/NAME` as `ip netns add` makes it.
/// Sockets the thread opens afterwards, and `/proc/thread-self/net/...` files it reads, belong to
/// that namespace. Swift's Glibc module does not export setns() nor CLONE_NEWNET.
///
/// Returns 0, or a negative errno (-ENOSYS off Linux); then `*failed_step` (if not NULL) is
/// "open" (no such namespace: -ENOENT) or "setns" (-EPERM without CAP_SYS_ADMIN, -EINVAL when the
/// file is not a network namespace).
int cnl_enter_netns(const char *path, const char **failed_step);

#ifdef __cplusplus
}
#endif

#endif  // CNETLINK_H
