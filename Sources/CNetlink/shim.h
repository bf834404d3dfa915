// libnl-3 (generic netlink socket + family resolution, rtnetlink addresses, routes and rules) and the kernel's IPVS ABI.
#ifndef DIRECTORD_CNETLINK_SHIM_H
#define DIRECTORD_CNETLINK_SHIM_H
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <netlink/msg.h>
#include <netlink/genl/genl.h>
#include <netlink/genl/ctrl.h>
#include <netlink/route/addr.h>
#include <netlink/route/route.h>
#include <netlink/route/link.h>
#include <netlink/route/link/macvlan.h>
#include <netlink/route/rule.h>
#include <linux/netlink.h>
#include <linux/genetlink.h>
#include <linux/fib_rules.h>
#include <linux/ip_vs.h>
#endif
