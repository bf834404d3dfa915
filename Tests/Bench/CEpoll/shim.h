// epoll(7) for bench-checker's raw floor (Glibc's Swift module does not carry it).
#include <sys/epoll.h>
