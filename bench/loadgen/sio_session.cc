// sio_session: Engine.IO/Socket.IO housekeeping on one generator connection.
#include "sio_session.h"

namespace duplex::bench {

sio_info sio_on_message(client_connection& c, std::string_view text, connection_handler& events) {
  sio_info info = classify_sio(text);
  switch (info.what) {
    case sio_info::kind::open:
      c.queue_text(sio_connect_packet);
      c.flush(events);
      break;
    case sio_info::kind::ping:
      c.queue_text(sio_pong_packet);
      c.flush(events);
      break;
    default:
      break;
  }
  return info;
}

}  // namespace duplex::bench
