// shared_text: the client id and username a connection and its session share.

#include "broker/shared_text.hpp"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace broker {
namespace {

TEST(shared_text, none_differs_from_empty) {
  const shared_text none;
  const shared_text empty{std::string_view()};
  EXPECT_FALSE(none.has_value());
  EXPECT_TRUE(empty.has_value());
  EXPECT_TRUE(none.empty());
  EXPECT_TRUE(empty.empty());
}

TEST(shared_text, short_and_long_texts_read_back_unchanged) {
  for (std::string text : {"a", "bench", "1234567", "12345678", "mqtt-load-12345-i1234"}) {
    const shared_text t{text};
    EXPECT_EQ(t.view(), text);
    EXPECT_EQ(t.size(), text.size());
    EXPECT_EQ(t.str(), text);
  }
}

TEST(shared_text, copies_share_one_block_of_a_long_text) {
  const shared_text a{std::string_view("mqtt-load-12345-i1234")};
  const shared_text b = a;
  EXPECT_EQ(a.view().data(), b.view().data());
  EXPECT_EQ(b, "mqtt-load-12345-i1234");
}

TEST(shared_text, a_copy_outlives_the_original) {
  shared_text copy;
  {
    const shared_text original{std::string_view("a client id longer than seven")};
    copy = original;
  }
  EXPECT_EQ(copy, "a client id longer than seven");
}

TEST(shared_text, moved_from_is_none) {
  shared_text a{std::string_view("a client id longer than seven")};
  const shared_text b = std::move(a);
  EXPECT_FALSE(a.has_value());  // NOLINT(bugprone-use-after-move): what a move leaves
  EXPECT_EQ(b, "a client id longer than seven");
}

TEST(shared_text, copies_dropped_on_several_threads_free_the_text_once) {
  const shared_text original{std::string_view("a client id longer than seven")};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([original] {
      for (int n = 0; n < 10000; ++n) {
        const shared_text copy = original;
        EXPECT_EQ(copy.size(), original.size());
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(original, "a client id longer than seven");
}

}  // namespace
}  // namespace broker
