/* floor_server: the physical floor of the echo and fan-out benchmarks. It does the least any
 * WebSocket server must do, and nothing else: accept, answer the opening handshake (it only
 * looks for Sec-WebSocket-Key; no validation), and
 *  - echo (any path but the two below): unmask each frame and send it back unmasked, with one
 *    receive buffer shared by all connections and one send() per connection per loop turn;
 *  - fan-out, in the dialect of bench/peers/ws_broadcast_server.js (the generator's --raw):
 *    GET /sub?channel=C subscribes (answered {"id":2,"subscribe":{}}); text frames from GET
 *    /pub, {"id":N,"channel":"C","data":D} in the generator's field order, build the push
 *    {"push":{"channel":"C","pub":{"data":D}}} frame once, append it to each subscriber's
 *    output of this loop turn, and answer {"id":N,"publish":{}}; each connection's output of a
 *    turn goes out in one send() at the turn's end.
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
  char* turn;      /* fan-out: this turn's output, sent at the turn's end */
  uint32_t spill_len, out_len, out_off, turn_len, turn_cap;
  uint8_t open;    /* handshake answered */
  uint8_t used;
  uint8_t role;    /* 0 echo, 1 subscriber, 2 publisher */
  uint8_t queued;  /* in the turn's list of connections with output */
};

/* Fan-out channels: name -> subscriber fds, a linear table (100 channels at most here). */
struct channel {
  char name[64];
  int* fds;
  size_t n, cap;
};
static struct channel channels[1024];
static size_t channel_count;
static int* turn_fds; /* connections with turn output */
static size_t turn_count;

static struct conn* conns;
static int max_fd;
static int epfd;
static char* rx;

static struct channel* find_channel(const char* name, size_t len, int create) {
  for (size_t i = 0; i < channel_count; ++i) {
    if (strlen(channels[i].name) == len && memcmp(channels[i].name, name, len) == 0) return &channels[i];
  }
  if (!create || channel_count == sizeof channels / sizeof channels[0] || len >= 64) return NULL;
  struct channel* ch = &channels[channel_count++];
  memcpy(ch->name, name, len);
  ch->name[len] = 0;
  return ch;
}

static void drop(int fd) {
  struct conn* c = &conns[fd];
  if (c->role == 1) { /* leave every channel it is in (one, in this benchmark) */
    for (size_t i = 0; i < channel_count; ++i) {
      struct channel* ch = &channels[i];
      for (size_t k = 0; k < ch->n; ++k) {
        if (ch->fds[k] == fd) ch->fds[k--] = ch->fds[--ch->n];
      }
    }
  }
  free(c->spill);
  free(c->out);
  free(c->turn);
  const uint8_t queued = c->queued;
  memset(c, 0, sizeof *c);
  c->queued = queued; /* still listed for this turn's end, which skips it (turn_len 0) */
  close(fd);
}

/* Appends bytes to fd's output of this turn. */
static int turn_append(int fd, const char* buf, size_t len) {
  struct conn* c = &conns[fd];
  if (c->turn_len + len > c->turn_cap) {
    size_t cap = c->turn_cap ? c->turn_cap * 2 : 512;
    while (cap < c->turn_len + len) cap *= 2;
    char* grown = realloc(c->turn, cap);
    if (!grown) return 0;
    c->turn = grown;
    c->turn_cap = (uint32_t)cap;
  }
  memcpy(c->turn + c->turn_len, buf, len);
  c->turn_len += (uint32_t)len;
  if (!c->queued) {
    c->queued = 1;
    turn_fds[turn_count++] = fd;
  }
  return 1;
}

/* An unmasked server text frame header for a payload of len bytes; returns its size. */
static size_t text_header(char* h, size_t len) {
  h[0] = (char)0x81;
  if (len < 126) {
    h[1] = (char)len;
    return 2;
  }
  if (len < 65536) {
    h[1] = 126;
    h[2] = (char)(len >> 8);
    h[3] = (char)len;
    return 4;
  }
  h[1] = 127;
  for (int i = 0; i < 8; ++i) h[2 + i] = (char)((uint64_t)len >> (56 - 8 * i));
  return 10;
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
  struct channel* sub = NULL;
  if (len > 9 && memcmp(buf, "GET /sub?", 9) == 0) {
    const char* name = memmem(buf, (size_t)(end - buf), "channel=", 8);
    if (!name) return -1;
    name += 8;
    size_t n = strcspn(name, " &\r");
    sub = find_channel(name, n, 1);
    if (!sub) return -1;
  } else if (len > 9 && memcmp(buf, "GET /pub ", 9) == 0) {
    conns[fd].role = 2;
  }
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
  char resp[224];
  int n = snprintf(resp, sizeof resp,
                   "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                   accept);
  if (sub) { /* the subscribe answer rides with the 101 */
    static const char ack[] = "{\"id\":2,\"subscribe\":{}}";
    n += (int)text_header(resp + n, sizeof ack - 1);
    memcpy(resp + n, ack, sizeof ack - 1);
    n += (int)(sizeof ack - 1);
    if (sub->n == sub->cap) {
      size_t cap = sub->cap ? sub->cap * 2 : 64;
      int* grown = realloc(sub->fds, cap * sizeof *grown);
      if (!grown) return -1;
      sub->fds = grown;
      sub->cap = cap;
    }
    sub->fds[sub->n++] = fd;
    conns[fd].role = 1;
  }
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

/* A client frame's header at buf (avail bytes): 1 with *plen and *hl (header length without
 * the mask key) set, 0 when incomplete, -1 when unmasked or larger than max. */
static int frame_head(const char* buf, size_t avail, uint64_t max, uint64_t* plen, size_t* hl) {
  if (avail < 2) return 0;
  unsigned char b1 = (unsigned char)buf[1];
  if (!(b1 & 0x80)) return -1; /* RFC 6455 §5.1: client frames are masked */
  *plen = b1 & 0x7f;
  *hl = 2;
  if (*plen == 126) {
    if (avail < 4) return 0;
    *plen = (uint64_t)(unsigned char)buf[2] << 8 | (unsigned char)buf[3];
    *hl = 4;
  } else if (*plen == 127) {
    if (avail < 10) return 0;
    *plen = 0;
    for (int i = 0; i < 8; ++i) *plen = *plen << 8 | (unsigned char)buf[2 + i];
    *hl = 10;
  }
  return *plen > max ? -1 : 1;
}

/* Echoes every complete frame of buf[0, len), compacting the replies to the front of buf;
 * returns bytes consumed (the rest is an unfinished frame), -1 to close. *out_len gets the
 * reply size. */
static long echo_frames(char* buf, size_t len, size_t* out_len, int* close_after) {
  size_t r = 0, w = 0;
  for (;;) {
    uint64_t plen;
    size_t hl;
    /* larger than the floor's one buffer: refused */
    const int h = frame_head(buf + r, len - r, rx_size, &plen, &hl);
    if (h < 0) return -1;
    if (h == 0 || len - r < hl + 4 + plen) break;
    unsigned char b0 = (unsigned char)buf[r], b1 = (unsigned char)buf[r + 1];
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

/* The publisher's frames, unmasked in place: {"id":N,"channel":"C","data":D} each. The push is
 * built once per publication and appended to every subscriber's turn output. Returns bytes
 * consumed, -1 to close. */
static long publish_frames(int fd, char* buf, size_t len) {
  size_t r = 0;
  static char push[70000];
  for (;;) {
    uint64_t plen;
    size_t hl;
    const int h = frame_head(buf + r, len - r, 65535, &plen, &hl); /* publications are small */
    if (h < 0) return -1;
    if (h == 0 || len - r < hl + 4 + plen) break;
    unsigned char b0 = (unsigned char)buf[r];
    if ((b0 & 0x0f) == 0x8) return -1; /* close */
    uint32_t key;
    memcpy(&key, buf + r + hl, 4);
    char* m = buf + r + hl + 4;
    unmask_move(m, m, (size_t)plen, key);
    r += hl + 4 + (size_t)plen;
    if ((b0 & 0x0f) != 0x1) continue;
    /* {"id":N,"channel":"C","data":D} */
    const char* idp = memmem(m, (size_t)plen, "\"id\":", 5);
    const char* chp = memmem(m, (size_t)plen, "\"channel\":\"", 11);
    if (!idp || !chp) return -1;
    long id = strtol(idp + 5, NULL, 10);
    chp += 11;
    const char* che = memchr(chp, '"', (size_t)(m + plen - chp));
    if (!che) return -1;
    const char* dp = memmem(che, (size_t)(m + plen - che), "\"data\":", 7);
    if (!dp) return -1;
    dp += 7;
    size_t dlen = (size_t)(m + plen - 1 - dp); /* up to the closing brace */
    struct channel* ch = find_channel(chp, (size_t)(che - chp), 0);
    if (ch && ch->n) {
      char body[256];
      int bl = snprintf(body, sizeof body, "{\"push\":{\"channel\":\"%.*s\",\"pub\":{\"data\":",
                        (int)(che - chp), chp);
      size_t total = (size_t)bl + dlen + 3;
      if (total > sizeof push - 10) return -1;
      size_t h = text_header(push, total);
      memcpy(push + h, body, (size_t)bl);
      memcpy(push + h + bl, dp, dlen);
      memcpy(push + h + bl + dlen, "}}}", 3);
      for (size_t k = 0; k < ch->n; ++k) {
        if (!turn_append(ch->fds[k], push, h + total)) return -1;
      }
    }
    char reply[64];
    int rl = snprintf(reply + 2, sizeof reply - 2, "{\"id\":%ld,\"publish\":{}}", id);
    reply[0] = (char)0x81;
    reply[1] = (char)rl;
    if (!turn_append(fd, reply, (size_t)rl + 2)) return -1;
  }
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
  if (c->open && used < len && c->role == 2) {
    long e = publish_frames(fd, rx + used, len - used);
    if (e < 0) return drop(fd);
    used += (size_t)e;
  } else if (c->open && used < len && c->role == 1) {
    used = len; /* subscribers' frames (pongs, closes) are not read here */
  } else if (c->open && used < len) {
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
  turn_fds = malloc((size_t)max_fd * sizeof *turn_fds);
  rx = malloc(rx_size);
  if (!conns || !rx || !turn_fds) return 1;

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
    /* The turn's end: each connection's fan-out output in one send. */
    for (size_t k = 0; k < turn_count; ++k) {
      int fd = turn_fds[k];
      struct conn* c = &conns[fd];
      c->queued = 0;
      if (!c->used || !c->turn_len) continue;
      const uint32_t n = c->turn_len;
      c->turn_len = 0;
      if (!send_all(fd, c->turn, n)) drop(fd);
    }
    turn_count = 0;
  }
}
