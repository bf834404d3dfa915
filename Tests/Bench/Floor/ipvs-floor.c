/*
 * ipvs-floor: the floor under programming an IPVS table, for `make bench` (issue #18). It reads the table in
 * `ipvsadm -R` form on standard input (the bench writes one file for both), and programs it with raw generic netlink,
 * no library: requests packed into large datagrams, 8 MiB socket buffers, an ack asked for every request and all
 * acks read at the end. Nothing of directord's; what is left is the kernel's cost and one process start.
 *
 *     ipvs-floor < table.rules        exit 0 when every request was acknowledged without error
 *
 * Only the forms the bench writes are read: "-A -t ADDR:PORT -s SCHED" and
 * "-a -t ADDR:PORT -r ADDR:PORT [-g|-m] -w WEIGHT", IPv4.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/genetlink.h>
#include <linux/ip_vs.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUFFER_BYTES (8 << 20)
#define DATAGRAM_BYTES (256 << 10)
/* Requests sent and not yet acknowledged, at most (an ack costs well under 1 KiB of receive buffer). */
#define MAX_IN_FLIGHT 4096

static char datagram[DATAGRAM_BYTES + 4096];
static size_t used;
static uint32_t sequence = 1;
static unsigned long sent, acked, failed;

static void die(const char *what) {
    fprintf(stderr, "ipvs-floor: %s: %s\n", what, strerror(errno));
    exit(2);
}

/* Appends an attribute to the message being built; nested attributes are closed by end_nest. */
static void *put(uint16_t type, const void *data, size_t len) {
    struct nlattr *a = (struct nlattr *)(datagram + used);
    a->nla_type = type;
    a->nla_len = (uint16_t)(NLA_HDRLEN + len);
    if (len) memcpy((char *)a + NLA_HDRLEN, data, len);
    used += NLA_ALIGN(a->nla_len);
    return a;
}

static void put_u16(uint16_t type, uint16_t v) { put(type, &v, sizeof v); }
static void put_u32(uint16_t type, uint32_t v) { put(type, &v, sizeof v); }

static struct nlattr *begin_nest(uint16_t type) { return put(type | NLA_F_NESTED, NULL, 0); }
static void end_nest(struct nlattr *a) { a->nla_len = (uint16_t)((datagram + used) - (char *)a); }

static struct nlmsghdr *begin_message(uint16_t family, uint8_t command) {
    struct nlmsghdr *h = (struct nlmsghdr *)(datagram + used);
    h->nlmsg_type = family;
    h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    h->nlmsg_seq = sequence++;
    h->nlmsg_pid = 0;
    used += NLMSG_HDRLEN;
    struct genlmsghdr *g = (struct genlmsghdr *)(datagram + used);
    g->cmd = command;
    g->version = IPVS_GENL_VERSION;
    g->reserved = 0;
    used += GENL_HDRLEN;
    return h;
}

static void end_message(struct nlmsghdr *h) {
    h->nlmsg_len = (uint32_t)((datagram + used) - (char *)h);
    used = NLMSG_ALIGN(used);
    sent++;
}

/* Reads acknowledgements until `want` have arrived (or none is pending when want is 0 and nothing is ready). */
static void read_acks(int fd, unsigned long want, int blocking) {
    static char reply[BUFFER_BYTES];
    while (acked + failed < want) {
        ssize_t n = recv(fd, reply, sizeof reply, blocking ? 0 : MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (!blocking && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
            die("recv");
        }
        for (struct nlmsghdr *h = (struct nlmsghdr *)reply; NLMSG_OK(h, (unsigned)n); h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_type != NLMSG_ERROR) continue;
            struct nlmsgerr *e = (struct nlmsgerr *)NLMSG_DATA(h);
            if (e->error == 0) {
                acked++;
            } else {
                failed++;
                if (failed <= 10) fprintf(stderr, "ipvs-floor: request %u: %s\n", h->nlmsg_seq, strerror(-e->error));
            }
        }
    }
}

static void flush(int fd) {
    if (!used) return;
    if (send(fd, datagram, used, 0) < 0) die("send");
    used = 0;
    read_acks(fd, 0, 0);
    /* Acks the kernel cannot queue are dropped (recv then fails with ENOBUFS): keep the unread ones well under
     * what the receive buffer holds, as directord's window does. */
    if (sent - acked - failed > MAX_IN_FLIGHT) read_acks(fd, sent - MAX_IN_FLIGHT / 2, 1);
}

static uint16_t resolve_family(int fd) {
    struct nlmsghdr *h = (struct nlmsghdr *)datagram;
    h->nlmsg_type = GENL_ID_CTRL;
    h->nlmsg_flags = NLM_F_REQUEST;
    h->nlmsg_seq = 0;
    h->nlmsg_pid = 0;
    used = NLMSG_HDRLEN;
    struct genlmsghdr *g = (struct genlmsghdr *)(datagram + used);
    g->cmd = CTRL_CMD_GETFAMILY;
    g->version = 1;
    g->reserved = 0;
    used += GENL_HDRLEN;
    put(CTRL_ATTR_FAMILY_NAME, IPVS_GENL_NAME, sizeof IPVS_GENL_NAME);
    h->nlmsg_len = (uint32_t)used;
    if (send(fd, datagram, used, 0) < 0) die("send (resolve IPVS)");
    used = 0;
    char reply[8192];
    ssize_t n = recv(fd, reply, sizeof reply, 0);
    if (n < 0) die("recv (resolve IPVS)");
    struct nlmsghdr *r = (struct nlmsghdr *)reply;
    if (!NLMSG_OK(r, (unsigned)n) || r->nlmsg_type == NLMSG_ERROR) {
        fprintf(stderr, "ipvs-floor: IPVS is not available in this kernel (modprobe ip_vs)\n");
        exit(2);
    }
    char *attrs = (char *)NLMSG_DATA(r) + GENL_HDRLEN;
    int left = (int)(r->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN);
    for (struct nlattr *a = (struct nlattr *)attrs; left >= (int)NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= left;
         left -= NLA_ALIGN(a->nla_len), a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len))) {
        if ((a->nla_type & NLA_TYPE_MASK) == CTRL_ATTR_FAMILY_ID) return *(uint16_t *)((char *)a + NLA_HDRLEN);
    }
    fprintf(stderr, "ipvs-floor: no family id in the controller's answer\n");
    exit(2);
}

/* "ADDR:PORT" -> network-order address and port. */
static int endpoint(const char *text, struct in_addr *addr, uint16_t *port) {
    char host[64];
    const char *colon = strrchr(text, ':');
    if (!colon || (size_t)(colon - text) >= sizeof host) return -1;
    memcpy(host, text, (size_t)(colon - text));
    host[colon - text] = 0;
    if (inet_pton(AF_INET, host, addr) != 1) return -1;
    *port = htons((uint16_t)atoi(colon + 1));
    return 0;
}

static void service_identity(struct in_addr addr, uint16_t port) {
    char address[16] = {0};
    memcpy(address, &addr, 4);
    put_u16(IPVS_SVC_ATTR_AF, AF_INET);
    put_u16(IPVS_SVC_ATTR_PROTOCOL, IPPROTO_TCP);
    put(IPVS_SVC_ATTR_ADDR, address, sizeof address);
    put_u16(IPVS_SVC_ATTR_PORT, port);
}

int main(int argc, char **argv) {
    if (argc > 1) {
        /* Any argument (the bench's warm-up start): say what this is and touch nothing. */
        fprintf(stderr, "%s: reads `ipvsadm -R` lines on standard input and programs them (no arguments)\n", argv[0]);
        return 0;
    }
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
    if (fd < 0) die("socket");
    int size = BUFFER_BYTES;
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) < 0) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    struct sockaddr_nl local = {.nl_family = AF_NETLINK};
    if (bind(fd, (struct sockaddr *)&local, sizeof local) < 0) die("bind");
    uint16_t family = resolve_family(fd);

    char line[512];
    unsigned long number = 0;
    while (fgets(line, sizeof line, stdin)) {
        number++;
        char op[4], proto[4], vip[64], sched[16], rip[64], fwd[4];
        int weight;
        struct in_addr va, ra;
        uint16_t vport, rport;
        if (sscanf(line, "%3s %3s %63s -s %15s", op, proto, vip, sched) == 4 && strcmp(op, "-A") == 0) {
            if (endpoint(vip, &va, &vport) < 0) goto bad;
            struct nlmsghdr *h = begin_message(family, IPVS_CMD_NEW_SERVICE);
            struct nlattr *svc = begin_nest(IPVS_CMD_ATTR_SERVICE);
            service_identity(va, vport);
            put(IPVS_SVC_ATTR_SCHED_NAME, sched, strlen(sched) + 1);
            struct ip_vs_flags flags = {.flags = 0, .mask = ~0u};
            put(IPVS_SVC_ATTR_FLAGS, &flags, sizeof flags);
            put_u32(IPVS_SVC_ATTR_TIMEOUT, 0);
            put_u32(IPVS_SVC_ATTR_NETMASK, 0xffffffff);
            end_nest(svc);
            end_message(h);
        } else if (sscanf(line, "%3s %3s %63s -r %63s %3s -w %d", op, proto, vip, rip, fwd, &weight) == 6 && strcmp(op, "-a") == 0) {
            if (endpoint(vip, &va, &vport) < 0 || endpoint(rip, &ra, &rport) < 0) goto bad;
            struct nlmsghdr *h = begin_message(family, IPVS_CMD_NEW_DEST);
            struct nlattr *svc = begin_nest(IPVS_CMD_ATTR_SERVICE);
            service_identity(va, vport);
            end_nest(svc);
            struct nlattr *dest = begin_nest(IPVS_CMD_ATTR_DEST);
            char address[16] = {0};
            memcpy(address, &ra, 4);
            put(IPVS_DEST_ATTR_ADDR, address, sizeof address);
            put_u16(IPVS_DEST_ATTR_PORT, rport);
            put_u32(IPVS_DEST_ATTR_FWD_METHOD, strcmp(fwd, "-m") == 0 ? IP_VS_CONN_F_MASQ : IP_VS_CONN_F_DROUTE);
            put_u32(IPVS_DEST_ATTR_WEIGHT, (uint32_t)weight);
            put_u32(IPVS_DEST_ATTR_U_THRESH, 0);
            put_u32(IPVS_DEST_ATTR_L_THRESH, 0);
            end_nest(dest);
            end_message(h);
        } else if (line[0] != '\n' && line[0] != '#') {
            goto bad;
        }
        if (used >= DATAGRAM_BYTES) flush(fd);
        continue;
    bad:
        fprintf(stderr, "ipvs-floor: stdin:%lu: not a line the bench writes: %s", number, line);
        return 2;
    }
    flush(fd);
    read_acks(fd, sent, 1);
    fprintf(stderr, "ipvs-floor: %lu requests, %lu acknowledged, %lu refused\n", sent, acked, failed);
    return failed ? 1 : 0;
}
