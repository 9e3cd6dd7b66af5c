// sock_diag (INET_DIAG) TCP dump and setns(): see include/CNetlink.h.

// setns() and CLONE_NEWNET are GNU extensions of <sched.h>.
#define _GNU_SOURCE

#include "CNetlink.h"

#include <errno.h>
#include <stdlib.h>

#if defined(__linux__)

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/rtnetlink.h>

/// Bits ESTABLISHED..NEW_SYN_RECV (1..12), as `ss -a` asks. BOUND_INACTIVE (13, ≥6.8: bound
/// but neither listening nor connecting) is left out, as `ss` does without `-B`.
#define CNL_ALL_STATES (((1u << (CNL_TCP_NEW_SYN_RECV + 1)) - 1) & ~1u)

/// The kernel sizes dump skbs at most ~32 KiB (netlink_dump, max_recvmsg_len); twice that is
/// ample, and MSG_TRUNC is checked anyway.
#define CNL_RECV_BUFFER (64 * 1024)

static int cnl_append(cnl_tcp_list *list, const cnl_tcp_socket *row) {
    if (list->count == list->capacity) {
        size_t capacity = list->capacity ? list->capacity * 2 : 256;
        cnl_tcp_socket *items = realloc(list->items, capacity * sizeof *items);
        if (items == NULL) return -ENOMEM;
        list->items = items;
        list->capacity = capacity;
    }
    list->items[list->count++] = *row;
    return 0;
}

/// tcpi_options's offset in struct tcp_info (after tcpi_state, ca_state, retransmits, probes,
/// backoff: five u8s), stable since 2.6.
#define CNL_TCPI_OPTIONS_OFFSET 5

/// Reads the INET_DIAG_INFO attribute, if any, that follows the inet_diag_msg in `nlh`.
static void cnl_row_info(struct nlmsghdr *nlh, cnl_tcp_socket *row) {
    size_t header = NLMSG_LENGTH(sizeof(struct inet_diag_msg));
    if (nlh->nlmsg_len <= NLMSG_ALIGN(header)) return;
    struct rtattr *attr = (struct rtattr *)((char *)nlh + NLMSG_ALIGN(header));
    int remaining = (int)(nlh->nlmsg_len - NLMSG_ALIGN(header));
    for (; RTA_OK(attr, remaining); attr = RTA_NEXT(attr, remaining)) {
        if (attr->rta_type != INET_DIAG_INFO) continue;
        if (RTA_PAYLOAD(attr) <= CNL_TCPI_OPTIONS_OFFSET) return;
        row->has_info = 1;
        row->tcpi_options = ((const uint8_t *)RTA_DATA(attr))[CNL_TCPI_OPTIONS_OFFSET];
        return;
    }
}

static void cnl_row_from_msg(const struct inet_diag_msg *m, cnl_tcp_socket *row) {
    memset(row, 0, sizeof *row);
    row->family = m->idiag_family;
    row->state = m->idiag_state;
    row->timer = m->idiag_timer;
    row->local_port = ntohs(m->id.idiag_sport);
    row->remote_port = ntohs(m->id.idiag_dport);
    size_t address_length = m->idiag_family == AF_INET6 ? 16 : 4;
    memcpy(row->local_address, m->id.idiag_src, address_length);
    memcpy(row->remote_address, m->id.idiag_dst, address_length);
    row->rqueue = m->idiag_rqueue;
    row->wqueue = m->idiag_wqueue;
    row->expires_ms = m->idiag_expires;
    row->uid = m->idiag_uid;
    row->inode = m->idiag_inode;
}

static int cnl_send_request(int fd, uint8_t family, uint32_t seq, int with_info) {
    struct {
        struct nlmsghdr nlh;
        struct inet_diag_req_v2 req;
    } request;
    memset(&request, 0, sizeof request);
    request.nlh.nlmsg_len = sizeof request;
    request.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    request.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    request.nlh.nlmsg_seq = seq;
    request.req.sdiag_family = family;
    request.req.sdiag_protocol = IPPROTO_TCP;
    request.req.idiag_states = CNL_ALL_STATES;
    // tcp_info for full sockets, on request (it costs a tcp_info per connection): its
    // tcpi_options says whether timestamps were negotiated.
    if (with_info) request.req.idiag_ext = 1u << (INET_DIAG_INFO - 1);

    struct sockaddr_nl kernel;
    memset(&kernel, 0, sizeof kernel);
    kernel.nl_family = AF_NETLINK;
    struct iovec iov = {.iov_base = &request, .iov_len = sizeof request};
    struct msghdr header;
    memset(&header, 0, sizeof header);
    header.msg_name = &kernel;
    header.msg_namelen = sizeof kernel;
    header.msg_iov = &iov;
    header.msg_iovlen = 1;

    ssize_t sent;
    do {
        sent = sendmsg(fd, &header, 0);
    } while (sent < 0 && errno == EINTR);
    if (sent < 0) return -errno;
    if ((size_t)sent != sizeof request) return -EIO;
    return 0;
}

/// Reads replies for `seq` until NLMSG_DONE. Returns 0 or -errno.
static int cnl_read_replies(int fd, uint32_t seq, char *buffer, cnl_tcp_list *list,
                            const char **step) {
    for (;;) {
        struct sockaddr_nl from;
        memset(&from, 0, sizeof from);
        struct iovec iov = {.iov_base = buffer, .iov_len = CNL_RECV_BUFFER};
        struct msghdr header;
        memset(&header, 0, sizeof header);
        header.msg_name = &from;
        header.msg_namelen = sizeof from;
        header.msg_iov = &iov;
        header.msg_iovlen = 1;

        ssize_t received;
        do {
            received = recvmsg(fd, &header, 0);
        } while (received < 0 && errno == EINTR);
        if (received < 0) {
            *step = "recvmsg";
            return -errno;
        }
        if (received == 0) {
            *step = "recvmsg";
            return -ENODATA;
        }
        if (header.msg_flags & MSG_TRUNC) {
            *step = "truncated";
            return -EMSGSIZE;
        }
        if (from.nl_pid != 0) continue;  // not from the kernel

        long remaining = received;
        for (struct nlmsghdr *nlh = (struct nlmsghdr *)buffer; cnl_nlmsg_ok(nlh, remaining);
             nlh = cnl_nlmsg_next(nlh, &remaining)) {
            if (nlh->nlmsg_seq != seq) continue;  // a stale reply to an earlier request
            if (nlh->nlmsg_flags & NLM_F_DUMP_INTR) list->interrupted = 1;

            if (nlh->nlmsg_type == NLMSG_DONE) {
                // A dump that failed part-way ends with NLMSG_DONE carrying a negative errno.
                if (nlh->nlmsg_len >= cnl_nlmsg_length(sizeof(int))) {
                    int error;
                    memcpy(&error, cnl_nlmsg_data(nlh), sizeof error);
                    if (error < 0) {
                        *step = "NLMSG_DONE";
                        return error;
                    }
                }
                return 0;
            }
            if (nlh->nlmsg_type == NLMSG_ERROR) {
                if (nlh->nlmsg_len < cnl_nlmsg_length(sizeof(struct nlmsgerr))) {
                    *step = "truncated";
                    return -EPROTO;
                }
                const struct nlmsgerr *error = cnl_nlmsg_data(nlh);
                if (error->error == 0) continue;  // an acknowledgement
                *step = "NLMSG_ERROR";
                return error->error;
            }
            if (nlh->nlmsg_type != SOCK_DIAG_BY_FAMILY) continue;
            if (nlh->nlmsg_len < cnl_nlmsg_length(sizeof(struct inet_diag_msg))) {
                *step = "truncated";
                return -EPROTO;
            }
            cnl_tcp_socket row;
            cnl_row_from_msg(cnl_nlmsg_data(nlh), &row);
            cnl_row_info(nlh, &row);
            int status = cnl_append(list, &row);
            if (status < 0) {
                *step = "malloc";
                return status;
            }
        }
    }
}

int cnl_dump_tcp(int families, cnl_tcp_list *list, const char **failed_step) {
    const char *ignored;
    const char **step = failed_step ? failed_step : &ignored;
    *step = NULL;

    int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (fd < 0) {
        *step = "socket";
        return -errno;
    }
    char *buffer = malloc(CNL_RECV_BUFFER);
    if (buffer == NULL) {
        close(fd);
        *step = "malloc";
        return -ENOMEM;
    }

    static const uint8_t family_of[2] = {AF_INET, AF_INET6};
    static const int flag_of[2] = {CNL_DUMP_IPV4, CNL_DUMP_IPV6};
    int status = 0;
    for (int i = 0; i < 2 && status == 0; i++) {
        if (!(families & flag_of[i])) continue;
        uint32_t seq = (uint32_t)i + 1;
        status = cnl_send_request(fd, family_of[i], seq, (families & CNL_DUMP_INFO) != 0);
        if (status < 0) {
            *step = "sendmsg";
            break;
        }
        status = cnl_read_replies(fd, seq, buffer, list, step);
    }

    free(buffer);
    close(fd);
    return status;
}

int cnl_enter_netns(const char *path, const char **failed_step) {
    const char *ignored;
    const char **step = failed_step ? failed_step : &ignored;
    *step = NULL;
    int fd;
    do {
        fd = open(path, O_RDONLY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        *step = "open";
        return -errno;
    }
    int status = setns(fd, CLONE_NEWNET);
    int error = errno;
    close(fd);
    if (status < 0) {
        *step = "setns";
        return -error;
    }
    return 0;
}

#else  // !__linux__

int cnl_enter_netns(const char *path, const char **failed_step) {
    (void)path;
    if (failed_step) *failed_step = "setns";
    return -ENOSYS;
}

int cnl_dump_tcp(int families, cnl_tcp_list *list, const char **failed_step) {
    (void)families;
    (void)list;
    if (failed_step) *failed_step = "socket";
    return -ENOSYS;
}

#endif  // __linux__

void cnl_tcp_list_free(cnl_tcp_list *list) {
    if (list == NULL) return;
    free(list->items);
    list->items = NULL;
    list->count = 0;
    list->capacity = 0;
    list->interrupted = 0;
}
