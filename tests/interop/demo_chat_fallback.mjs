// The chat demo forced onto the HTTP-streaming/SSE emulation (demo_chat.mjs --fallback).
//
//   node demo_chat_fallback.mjs DUPLEX
process.argv.push('--fallback');
await import('./demo_chat.mjs');
