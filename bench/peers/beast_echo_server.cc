// beast_echo_server: the Boost.Beast reference peer of the benchmark. One thread, one
// io_context, Beast's defaults (no permessage-deflate), the echo loop that Beast's own
// documentation teaches: async_read into a flat_buffer, async_write of the same bytes.
//
//   beast_echo_server [--port N] [--host 127.0.0.1]   prints "listening on <port>"
#include <utility>  // Boost 1.74's asio/awaitable.hpp uses std::exchange without including it

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

namespace {

class session : public std::enable_shared_from_this<session> {
 public:
  explicit session(tcp::socket socket) : ws_(std::move(socket)) {}

  void start() {
    ws_.next_layer().set_option(tcp::no_delay(true));
    ws_.async_accept([self = shared_from_this()](beast::error_code ec) {
      if (!ec) self->read();
    });
  }

 private:
  void read() {
    ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return;
      self->ws_.text(self->ws_.got_text());
      self->ws_.async_write(self->buffer_.data(),
                            [self](beast::error_code wec, std::size_t) {
                              if (wec) return;
                              self->buffer_.consume(self->buffer_.size());
                              self->read();
                            });
    });
  }

  websocket::stream<tcp::socket> ws_;
  beast::flat_buffer buffer_;
};

void accept_loop(tcp::acceptor& acceptor) {
  acceptor.async_accept([&acceptor](beast::error_code ec, tcp::socket socket) {
    if (!ec) std::make_shared<session>(std::move(socket))->start();
    accept_loop(acceptor);
  });
}

}  // namespace

int main(int argc, char** argv) {
  unsigned short port = 9003;
  std::string host = "127.0.0.1";
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
      port = static_cast<unsigned short>(std::stoi(argv[++i]));
    } else if (std::strcmp(argv[i], "--host") == 0 && i + 1 < argc) {
      host = argv[++i];
    } else {
      std::fprintf(stderr, "usage: %s [--port N] [--host ADDR]\n", argv[0]);
      return 2;
    }
  }
  asio::io_context ioc(1);  // concurrency hint 1: no locking inside asio
  tcp::acceptor acceptor(ioc);
  tcp::endpoint ep(asio::ip::make_address(host), port);
  acceptor.open(ep.protocol());
  acceptor.set_option(asio::socket_base::reuse_address(true));
  acceptor.bind(ep);
  acceptor.listen(4096);
  std::printf("listening on %u\n", acceptor.local_endpoint().port());
  std::fflush(stdout);
  accept_loop(acceptor);
  ioc.run();
  return 0;
}
