// The tool host's conversions, without a server: events to iCalendar and back, times, mail
// addresses, and messages both ways. The servers themselves are in tests/integration/test_accounts.py.
#include <gtest/gtest.h>

#include "common/mail_address.h"
#include "toolhost/curl_client.h"
#include "toolhost/ical_event.h"
#include "toolhost/mime.h"

namespace agentos::toolhost {
namespace {

TEST(IcalEvent, ARoundTripKeepsWhatTheAgentWrote) {
  Json args{{"summary", "Review; with, commas\nand a line"}, {"start", "2026-12-01T10:00:00Z"},
            {"end", "2026-12-01T11:30:00Z"}, {"location", "Room 4"}};
  auto ics = ics_for_event(args, "abc@agentos");
  ASSERT_TRUE(ics.ok()) << ics.error().str();
  EXPECT_NE(ics->find("DTSTART:20261201T100000Z"), std::string::npos) << *ics;
  Json events = events_from_ics(*ics, "abc.ics");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["summary"], "Review; with, commas\nand a line");
  EXPECT_EQ(events[0]["start"], "2026-12-01T10:00:00Z");
  EXPECT_EQ(events[0]["end"], "2026-12-01T11:30:00Z");
  EXPECT_EQ(events[0]["location"], "Room 4");
  EXPECT_EQ(events[0]["uid"], "abc@agentos");
  EXPECT_EQ(events[0]["id"], "abc.ics");
}

TEST(IcalEvent, ZonedTimesComeOutInUtcAndDaysStayDays) {
  const std::string ics =
      "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n"
      "BEGIN:VTIMEZONE\r\nTZID:Fixed+2\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\n"
      "TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0200\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n"
      "BEGIN:VEVENT\r\nUID:z\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;TZID=Fixed+2:20261201T120000\r\n"
      "DTEND;TZID=Fixed+2:20261201T130000\r\nSUMMARY:zoned\r\nEND:VEVENT\r\n"
      "BEGIN:VEVENT\r\nUID:d\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;VALUE=DATE:20261224\r\n"
      "DTEND;VALUE=DATE:20261225\r\nSUMMARY:day\r\nRRULE:FREQ=YEARLY\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
  Json events = events_from_ics(ics, "x.ics");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0]["start"], "2026-12-01T10:00:00Z");
  EXPECT_EQ(events[1]["start"], "2026-12-24");
  EXPECT_EQ(events[1]["recurring"], true);
}

TEST(IcalEvent, BadArgumentsAreRefusedWithAReason) {
  auto bad = [](Json a) {
    auto r = ics_for_event(a, "u");
    return r.ok() ? std::string("accepted") : r.error().str();
  };
  Json ok{{"summary", "s"}, {"start", "2026-12-01T10:00:00Z"}, {"end", "2026-12-01T11:00:00Z"}};
  auto with = [&](const char* key, const char* value) {
    Json a = ok;
    a[key] = value;
    return a;
  };
  EXPECT_NE(bad(with("start", "2026-12-01 10:00")).find("must be 2026-12-01T10:00:00Z"), std::string::npos);
  EXPECT_NE(bad(with("start", "2026-02-30T10:00:00Z")).find("not a date"), std::string::npos);
  EXPECT_NE(bad(with("end", "2026-12-01T09:00:00Z")).find("after start"), std::string::npos);
  EXPECT_NE(bad(with("end", "2026-12-02")).find("both be times or both be days"), std::string::npos);
  EXPECT_NE(bad(with("summary", "")).find("summary"), std::string::npos);
  EXPECT_EQ(*ical_time("2026-12-01"), "20261201");
}

TEST(MailAddress, OneBareAddressOnly) {
  EXPECT_TRUE(is_mail_address("bob@example.com"));
  EXPECT_TRUE(is_mail_address("bob+tag.x@mail.example.com"));
  for (const char* bad : {"bob", "@example.com", "bob@", "bob@example.com, eve@evil.com", "Bob <bob@example.com>",
                          "bob@example.com\r\nRCPT TO:<eve@evil.com>", "bob@exa mple.com", "bob..x@example.com",
                          "\"bob\"@example.com", "bob@-example.com", "bob@example.com>"})
    EXPECT_FALSE(is_mail_address(bad)) << bad;
}

TEST(Mime, ComposedMessagesParseBackDecoded) {
  mime_init();
  std::string id;
  auto m = compose_message("alice@example.com", {"bob@example.com", "carol@example.org"}, "Grüße: the plan",
                           "Line one.\n.\nLine three, after a lone dot.\n", &id);
  ASSERT_TRUE(m.ok()) << m.error().str();
  EXPECT_NE(m->find("\r\n"), std::string::npos);
  EXPECT_EQ(m->find("Grüße"), std::string::npos);  // encoded in the header, not raw
  Json c = message_content(*m, 1 << 20);
  EXPECT_EQ(c["subject"], "Grüße: the plan");
  EXPECT_EQ(c["from"], "alice@example.com");
  EXPECT_NE(c["to"].get<std::string>().find("carol@example.org"), std::string::npos);
  EXPECT_NE(c["text"].get<std::string>().find("after a lone dot"), std::string::npos);
  EXPECT_FALSE(id.empty());
  EXPECT_FALSE(compose_message("a@example.com", {"b@example.com"}, "two\r\nBcc: eve@evil.com", "x", &id).ok());
}

TEST(Mime, TheTextOfAMultipartMessageAndItsAttachments) {
  mime_init();
  const std::string raw =
      "From: Bob <bob@example.com>\r\nTo: alice@example.com\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\n"
      "Date: Tue, 01 Dec 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
      "Content-Transfer-Encoding: quoted-printable\r\n\r\nPrix: 10 =80 caf=E9\r\n--b\r\n"
      "Content-Type: application/pdf\r\nContent-Disposition: attachment; filename=invoice.pdf\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--b--\r\n";
  Json c = message_content(raw, 1 << 20);
  EXPECT_EQ(c["subject"], "café");
  EXPECT_EQ(c["date"], "2026-12-01T10:00:00Z");
  EXPECT_NE(c["text"].get<std::string>().find("café"), std::string::npos) << c.dump();
  ASSERT_EQ(c["attachments"].size(), 1u);
  EXPECT_EQ(c["attachments"][0]["name"], "invoice.pdf");
  Json cut = message_content(raw, 5);
  EXPECT_EQ(cut["truncated"], true);
}

TEST(CurlClient, OnlyLoopbackGetsAPasswordInTheClear) {
  EXPECT_TRUE(loopback_url("imap://127.0.0.1:1143/"));
  EXPECT_TRUE(loopback_url("http://localhost:5232/a/b/"));
  EXPECT_TRUE(loopback_url("smtp://[::1]:25"));
  EXPECT_FALSE(loopback_url("imap://mail.example.com/"));
  EXPECT_FALSE(loopback_url("http://127.0.0.1.evil.com/"));
}

}  // namespace
}  // namespace agentos::toolhost
