/* floor_server: the physical floor of the echo benchmark. It does the least any WebSocket echo
 * server must do, and nothing else: accept, answer the opening handshake (it only looks for
 * Sec-WebSocket-Key; no validation), unmask each frame and send it back unmasked, with one
 * receive buffer shared by all connections and one send() per connection per loop turn.
 * Its CPU per message is kernel time plus a few ns; a real server's distance to it is what
 * the server itself costs.
 *
 *   floor_server [--port N] [--host 127.0.0.1]   prints "listening on <port>"
 *
 * Not a server to use: it trusts its peer (no limits beyond buffer sizes, no UTF-8 checks,
 * no fragmentation rules). Only for the benchmark, on loopback.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

enum { rx_size = 512 * 1024, max_head = 8192 };

/* Per connection, indexed by fd in one calloc'd table: a page is only touched (and counted
 * in RSS) once a connection uses it, so an idle connection costs sizeof(struct conn). */
struct conn {
  char* spill;     /* unfinished frame or handshake bytes, malloc'd only while needed */
  char* out;       /* bytes the kernel did not take yet, malloc'd only while needed */
  uint32_t spill_len, out_len, out_off;
  uint8_t open;    /* handshake answered */
  uint8_t used;
};

static struct conn* conns;
static int max_fd;
static int epfd;
static char* rx;

static void drop(int fd) {
  struct conn* c = &conns[fd];
  free(c->spill);
  free(c->out);
  memset(c, 0, sizeof *c);
  close(fd);
}

/* Sends buf; keeps what the kernel did not take and asks for EPOLLOUT. 0 on fatal error. */
static int send_all(int fd, const char* buf, size_t len) {
  struct conn* c = &conns[fd];
  if (c->out_len) { /* already backed up: append, keep order */
    char* grown = realloc(c->out, c->out_len + len);
    if (!grown) return 0;
    memcpy(grown + c->out_len, buf, len);
    c->out = grown;
    c->out_len += (uint32_t)len;
    return 1;
  }
  ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
  if (n < 0) {
    if (errno != EAGAIN && errno != EINTR) return 0;
    n = 0;
  }
  if ((size_t)n == len) return 1;
  c->out = malloc(len - (size_t)n);
  if (!c->out) return 0;
  memcpy(c->out, buf + n, len - (size_t)n);
  c->out_len = (uint32_t)(len - (size_t)n);
  c->out_off = 0;
  struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.fd = fd};
  epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev);
  return 1;
}

static int flush_out(int fd) {
  struct conn* c = &conns[fd];
  while (c->out_off < c->out_len) {
    ssize_t n = send(fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
    if (n < 0) return errno == EAGAIN || errno == EINTR;
    c->out_off += (uint32_t)n;
  }
  free(c->out);
  c->out = NULL;
  c->out_len = c->out_off = 0;
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
  epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev);
  return 1;
}

/* Answers the handshake in buf[0, len). Returns bytes used, 0 if the head is incomplete,
 * -1 on error. */
static long handshake(int fd, const char* buf, size_t len) {
  const char* end = memmem(buf, len, "\r\n\r\n", 4);
  if (!end) return len > max_head ? -1 : 0;
  const char* key = NULL;
  size_t key_len = 0;
  for (const char* line = buf; line < end;) {
    const char* eol = memmem(line, (size_t)(end + 2 - line), "\r\n", 2);
    if (!eol) break;
    if ((size_t)(eol - line) > 18 && strncasecmp(line, "Sec-WebSocket-Key:", 18) == 0) {
      key = line + 18;
      while (key < eol && (*key == ' ' || *key == '\t')) ++key;
      key_len = (size_t)(eol - key);
      while (key_len && (key[key_len - 1] == ' ' || key[key_len - 1] == '\t')) --key_len;
    }
    line = eol + 2;
  }
  if (!key || key_len > 64) return -1;
  /* RFC 6455 §1.3: accept = base64(SHA-1(key + GUID)). */
  char joined[128];
  memcpy(joined, key, key_len);
  memcpy(joined + key_len, "258EAFA5-E914-47DA-95CA-C5AB0DC85B11", 36);
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1((const unsigned char*)joined, key_len + 36, digest);
  char accept[32];
  EVP_EncodeBlock((unsigned char*)accept, digest, SHA_DIGEST_LENGTH);
  char resp[160];
  int n = snprintf(resp, sizeof resp,
                   "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                   accept);
  if (!send_all(fd, resp, (size_t)n)) return -1;
  conns[fd].open = 1;
  return (long)(end + 4 - buf);
}

/* Unmasks from src into dst (dst <= src, may overlap: each word is loaded before it is
 * stored, and the store never passes the next load). */
static void unmask_move(char* dst, const char* src, size_t len, uint32_t key) {
  uint64_t k8 = (uint64_t)key << 32 | key;
  size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t w;
    memcpy(&w, src + i, 8);
    w ^= k8;
    memcpy(dst + i, &w, 8);
  }
  const unsigned char* kb = (const unsigned char*)&key;
  for (; i < len; ++i) dst[i] = (char)(src[i] ^ kb[i & 3]);
}

/* Echoes every complete frame of buf[0, len), compacting the replies to the front of buf;
 * returns bytes consumed (the rest is an unfinished frame), -1 to close. *out_len gets the
 * reply size. */
static long echo_frames(char* buf, size_t len, size_t* out_len, int* close_after) {
  size_t r = 0, w = 0;
  while (len - r >= 2) {
    unsigned char b0 = (unsigned char)buf[r], b1 = (unsigned char)buf[r + 1];
    if (!(b1 & 0x80)) return -1; /* RFC 6455 §5.1: client frames are masked */
    uint64_t plen = b1 & 0x7f;
    size_t hl = 2;
    if (plen == 126) {
      if (len - r < 4) break;
      plen = (uint64_t)(unsigned char)buf[r + 2] << 8 | (unsigned char)buf[r + 3];
      hl = 4;
    } else if (plen == 127) {
      if (len - r < 10) break;
      plen = 0;
      for (int i = 0; i < 8; ++i) plen = plen << 8 | (unsigned char)buf[r + 2 + i];
      hl = 10;
      if (plen > rx_size) return -1; /* larger than the floor's one buffer */
    }
    if (len - r < hl + 4 + plen) break;
    uint32_t key;
    memcpy(&key, buf + r + hl, 4);
    unsigned op = b0 & 0x0f;
    if (op == 0x9) b0 = (unsigned char)((b0 & 0xf0) | 0xA); /* ping -> pong */
    if (op == 0x8) *close_after = 1;                       /* close: echo it, then close */
    buf[w] = (char)b0;
    buf[w + 1] = (char)(b1 & 0x7f); /* same length encoding, mask bit off */
    memmove(buf + w + 2, buf + r + 2, hl - 2);
    unmask_move(buf + w + hl, buf + r + hl + 4, (size_t)plen, key);
    w += hl + (size_t)plen;
    r += hl + 4 + (size_t)plen;
    if (*close_after) break;
  }
  *out_len = w;
  return (long)r;
}

static void on_readable(int fd) {
  struct conn* c = &conns[fd];
  size_t have = 0;
  if (c->spill_len) { /* the unfinished tail of last time goes first */
    memcpy(rx, c->spill, c->spill_len);
    have = c->spill_len;
    free(c->spill);
    c->spill = NULL;
    c->spill_len = 0;
  }
  ssize_t n = recv(fd, rx + have, rx_size - have, 0);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return drop(fd);
  if (n < 0) n = 0;
  size_t len = have + (size_t)n;
  size_t used = 0;
  if (!c->open) {
    long h = handshake(fd, rx, len);
    if (h < 0) return drop(fd);
    used = (size_t)h;
  }
  size_t out_len = 0;
  int close_after = 0;
  if (c->open && used < len) {
    long e = echo_frames(rx + used, len - used, &out_len, &close_after);
    if (e < 0) return drop(fd);
    if (out_len && !send_all(fd, rx + used, out_len)) return drop(fd);
    used += (size_t)e;
  }
  if (close_after) return drop(fd);
  if (used < len) {
    c->spill = malloc(len - used);
    if (!c->spill) return drop(fd);
    memcpy(c->spill, rx + used, len - used);
    c->spill_len = (uint32_t)(len - used);
  }
}

int main(int argc, char** argv) {
  int port = 9002;
  const char* host = "127.0.0.1";
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) port = atoi(argv[++i]);
    else if (strcmp(argv[i], "--host") == 0 && i + 1 < argc) host = argv[++i];
    else { fprintf(stderr, "usage: %s [--port N] [--host ADDR]\n", argv[0]); return 2; }
  }
  signal(SIGPIPE, SIG_IGN);
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  max_fd = (int)rl.rlim_cur;
  conns = calloc((size_t)max_fd, sizeof *conns);
  rx = malloc(rx_size);
  if (!conns || !rx) return 1;

  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, host, &addr.sin_addr);
  if (bind(lfd, (struct sockaddr*)&addr, sizeof addr) != 0 || listen(lfd, 4096) != 0) {
    perror("floor_server: bind/listen");
    return 1;
  }
  socklen_t alen = sizeof addr;
  getsockname(lfd, (struct sockaddr*)&addr, &alen);
  printf("listening on %u\n", ntohs(addr.sin_port));
  fflush(stdout);

  epfd = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};
  epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev);
  struct epoll_event events[1024];
  for (;;) {
    int n = epoll_wait(epfd, events, 1024, -1);
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == lfd) {
        for (;;) {
          int cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
          if (cfd < 0) break;
          if (cfd >= max_fd) { close(cfd); continue; }
          setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          conns[cfd].used = 1;
          struct epoll_event cev = {.events = EPOLLIN, .data.fd = cfd};
          epoll_ctl(epfd, EPOLL_CTL_ADD, cfd, &cev);
        }
        continue;
      }
      if (!conns[fd].used) continue; /* dropped earlier in this batch */
      if ((events[i].events & EPOLLOUT) && conns[fd].out_len && !flush_out(fd)) {
        drop(fd);
        continue;
      }
      if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) on_readable(fd);
    }
  }
}
