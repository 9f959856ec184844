//! The default templates: an e-mail (subject, HTML content, text part) and an SMS for every
//! message type of D16. A winery's saved template replaces the default for its type and
//! channel; deleting it brings the default back.

use super::MessageType;
use super::template::EmailSource;

/// The default e-mail for `kind`.
pub fn email(kind: MessageType) -> EmailSource {
    let (subject, html, text) = match kind {
        MessageType::Welcome => (WELCOME_SUBJECT, WELCOME_HTML, WELCOME_TEXT),
        MessageType::Upgraded => (UPGRADED_SUBJECT, UPGRADED_HTML, UPGRADED_TEXT),
        MessageType::Renewed => (RENEWED_SUBJECT, RENEWED_HTML, RENEWED_TEXT),
        MessageType::ExpirationWarning => (WARNING_SUBJECT, WARNING_HTML, WARNING_TEXT),
        MessageType::MembershipExpired => (EXPIRED_SUBJECT, EXPIRED_HTML, EXPIRED_TEXT),
        MessageType::MonthlyStatus => (MONTHLY_SUBJECT, MONTHLY_HTML, MONTHLY_TEXT),
        MessageType::PointsEarned => (POINTS_SUBJECT, POINTS_HTML, POINTS_TEXT),
        MessageType::RewardRedeemed => (REDEEMED_SUBJECT, REDEEMED_HTML, REDEEMED_TEXT),
        MessageType::RedemptionFulfilled => (FULFILLED_SUBJECT, FULFILLED_HTML, FULFILLED_TEXT),
        MessageType::PortalSignIn => (SIGN_IN_SUBJECT, SIGN_IN_HTML, SIGN_IN_TEXT),
    };
    EmailSource {
        subject: subject.to_owned(),
        html: html.trim().to_owned(),
        text: text.trim().to_owned(),
    }
}

/// The default SMS for `kind`.
pub fn sms(kind: MessageType) -> String {
    match kind {
        MessageType::Welcome => {
            "{{ winery_name }}: welcome to {{ current_stage }}, {{ first_name }}! Your {{ discount_percentage }} discount applies automatically until {{ expires_at }}. Reply STOP to opt out."
        }
        MessageType::Upgraded => {
            "{{ winery_name }}: you're now {{ current_stage }} with {{ discount_percentage }} off, valid until {{ expires_at }}. Reply STOP to opt out."
        }
        MessageType::Renewed => {
            "{{ winery_name }}: your {{ current_stage }} membership is renewed until {{ expires_at }}. Reply STOP to opt out."
        }
        MessageType::ExpirationWarning => {
            "{{ winery_name }}: your {{ current_stage }} membership ends in {{ days_remaining }} day{% if days_remaining != 1 %}s{% endif %} ({{ expires_at }}). One order of {{ min_purchase_amount }} renews it. Reply STOP to opt out."
        }
        MessageType::MembershipExpired => {
            "{{ winery_name }}: your {{ current_stage }} membership has ended. One qualifying order brings it back. Reply STOP to opt out."
        }
        MessageType::MonthlyStatus => {
            "{{ winery_name }}: {{ current_stage }} ({{ discount_percentage }} off) until {{ expires_at }}.{% if is_earning_points %} Points: {{ points_balance }}.{% endif %} Reply STOP to opt out."
        }
        MessageType::PointsEarned => {
            "{{ winery_name }}: you earned {{ points_earned }} points. Balance: {{ points_balance }}. Reply STOP to opt out."
        }
        MessageType::RewardRedeemed => {
            "{{ winery_name }}: you redeemed {{ reward_name }} for {{ reward_points }} points. We'll let you know when it's ready. Reply STOP to opt out."
        }
        MessageType::RedemptionFulfilled => {
            "{{ winery_name }}: your {{ reward_name }} is ready. Enjoy! Reply STOP to opt out."
        }
        // Never sent by text (`MessageType::channels`); kept so every type has an SMS body.
        MessageType::PortalSignIn => "{{ winery_name }}: sign in at {{ sign_in_url }}",
    }
    .to_owned()
}

/// The upgrade and renewal paragraphs shared by the status messages.
macro_rules! status_blocks {
    () => {
        r#"
{% if is_expiring_soon %}
<div class="box"><strong>Your membership expires in {{ days_remaining }} day{% if days_remaining != 1 %}s{% endif %}</strong>, on {{ expires_at }}.
One order of at least {{ min_purchase_amount }} before then renews it.</div>
{% else %}
<p>Your {{ current_stage }} membership is valid until {{ expires_at }}. One order of at least {{ min_purchase_amount }} before {{ expires_at }} renews it.</p>
{% endif %}
{% if has_upgrade_available %}
<div class="box">Spend {{ next_stage_amount }} in one order to reach <strong>{{ next_stage }}</strong> and get {{ next_stage_discount }} off.</div>
{% endif %}
{% if is_earning_points %}
<p>You have <strong>{{ points_balance }} points</strong>{% if points_earned_last_month %}, {{ points_earned_last_month }} of them earned last month{% endif %}.</p>
{% endif %}
{% if custom_content %}<p>{{ custom_content }}</p>{% endif %}
<p><a class="button" href="{{ shop_url }}">Visit the shop</a></p>
"#
    };
}

const WELCOME_SUBJECT: &str = "Welcome to {{ current_stage }}, {{ first_name }}";
const WELCOME_HTML: &str = concat!(
    r#"
<h1>Welcome to the club, {{ first_name }}!</h1>
<p>You are now a <strong>{{ current_stage }}</strong> member of {{ winery_name }}. Your {{ discount_percentage }} discount applies automatically at checkout; there is no code to remember.</p>
"#,
    status_blocks!()
);
const WELCOME_TEXT: &str = "Welcome to the club, {{ first_name }}!\n\nYou are now a {{ current_stage }} member of {{ winery_name }}. Your {{ discount_percentage }} discount applies automatically at checkout until {{ expires_at }}.\n\nOne order of at least {{ min_purchase_amount }} before {{ expires_at }} renews it.{% if has_upgrade_available %}\nSpend {{ next_stage_amount }} in one order to reach {{ next_stage }} ({{ next_stage_discount }} off).{% endif %}\n\nShop: {{ shop_url }}";

const UPGRADED_SUBJECT: &str = "You're now {{ current_stage }}, {{ first_name }}";
const UPGRADED_HTML: &str = concat!(
    r#"
<h1>Congratulations, {{ first_name }}!</h1>
<p>Your last order moved you up{% if previous_stage %} from {{ previous_stage }}{% endif %} to <strong>{{ current_stage }}</strong>. Your discount is now {{ discount_percentage }}, applied automatically at checkout.</p>
"#,
    status_blocks!()
);
const UPGRADED_TEXT: &str = "Congratulations, {{ first_name }}!\n\nYou are now {{ current_stage }}{% if previous_stage %} (up from {{ previous_stage }}){% endif %}, with {{ discount_percentage }} off until {{ expires_at }}.{% if has_upgrade_available %}\nSpend {{ next_stage_amount }} in one order to reach {{ next_stage }} ({{ next_stage_discount }} off).{% endif %}\n\nShop: {{ shop_url }}";

const RENEWED_SUBJECT: &str = "Your {{ current_stage }} membership is renewed";
const RENEWED_HTML: &str = concat!(
    r#"
<h1>Thank you, {{ first_name }}!</h1>
<p>Your order renewed your <strong>{{ current_stage }}</strong> membership. Your {{ discount_percentage }} discount continues.</p>
"#,
    status_blocks!()
);
const RENEWED_TEXT: &str = "Thank you, {{ first_name }}!\n\nYour {{ current_stage }} membership is renewed until {{ expires_at }}, with {{ discount_percentage }} off.{% if has_upgrade_available %}\nSpend {{ next_stage_amount }} in one order to reach {{ next_stage }} ({{ next_stage_discount }} off).{% endif %}\n\nShop: {{ shop_url }}";

const WARNING_SUBJECT: &str = "Your {{ current_stage }} membership ends in {{ days_remaining }} day{% if days_remaining != 1 %}s{% endif %}";
const WARNING_HTML: &str = r#"
<h1>Don't lose your {{ discount_percentage }} discount, {{ first_name }}</h1>
<div class="box">Your <strong>{{ current_stage }}</strong> membership expires in <strong>{{ days_remaining }} day{% if days_remaining != 1 %}s{% endif %}</strong>, on {{ expires_at }}.</div>
<p>One order of at least <strong>{{ min_purchase_amount }}</strong> before {{ expires_at }} renews it.</p>
{% if has_upgrade_available %}
<p>Or spend {{ next_stage_amount }} in one order to move up to <strong>{{ next_stage }}</strong> and get {{ next_stage_discount }} off.</p>
{% endif %}
{% if custom_content %}<p>{{ custom_content }}</p>{% endif %}
<p><a class="button" href="{{ shop_url }}">Renew with an order</a></p>
"#;
const WARNING_TEXT: &str = "Hi {{ first_name }},\n\nYour {{ current_stage }} membership at {{ winery_name }} expires in {{ days_remaining }} day{% if days_remaining != 1 %}s{% endif %}, on {{ expires_at }}.\nOne order of at least {{ min_purchase_amount }} before then renews it.{% if has_upgrade_available %}\nOr spend {{ next_stage_amount }} in one order to reach {{ next_stage }} ({{ next_stage_discount }} off).{% endif %}\n\nShop: {{ shop_url }}";

const EXPIRED_SUBJECT: &str = "Your {{ current_stage }} membership has ended";
const EXPIRED_HTML: &str = r#"
<h1>We miss you, {{ first_name }}</h1>
<p>Your <strong>{{ current_stage }}</strong> membership at {{ winery_name }} ended on {{ expires_at }}, and with it the {{ discount_percentage }} discount.</p>
<p>One qualifying order brings your membership back.</p>
{% if is_earning_points %}<p>Your {{ points_balance }} points are still yours: points never expire.</p>{% endif %}
<p><a class="button" href="{{ shop_url }}">Visit the shop</a></p>
"#;
const EXPIRED_TEXT: &str = "Hi {{ first_name }},\n\nYour {{ current_stage }} membership at {{ winery_name }} ended on {{ expires_at }}. One qualifying order brings it back.{% if points_balance %}\nYour {{ points_balance }} points are still yours.{% endif %}\n\nShop: {{ shop_url }}";

const MONTHLY_SUBJECT: &str = "Your {{ winery_name }} club status";
const MONTHLY_HTML: &str = concat!(
    r#"
<h1>Hello {{ first_name }},</h1>
<p>You are a <strong>{{ current_stage }}</strong> member with {{ discount_percentage }} off every order.</p>
"#,
    status_blocks!()
);
const MONTHLY_TEXT: &str = "Hello {{ first_name }},\n\nYou are a {{ current_stage }} member with {{ discount_percentage }} off.\n{% if is_expiring_soon %}Your membership expires in {{ days_remaining }} days, on {{ expires_at }}.{% else %}Valid until {{ expires_at }}.{% endif %} One order of at least {{ min_purchase_amount }} before then renews it.{% if has_upgrade_available %}\nSpend {{ next_stage_amount }} in one order to reach {{ next_stage }} ({{ next_stage_discount }} off).{% endif %}{% if is_earning_points %}\nPoints: {{ points_balance }} ({{ points_earned_last_month }} earned last month).{% endif %}\n\nShop: {{ shop_url }}";

const POINTS_SUBJECT: &str = "You earned {{ points_earned }} points";
const POINTS_HTML: &str = r#"
<h1>You earned {{ points_earned }} points, {{ first_name }}</h1>
<p>Your balance is now <strong>{{ points_balance }} points</strong>. Points never expire and buy rewards.</p>
<p><a class="button" href="{{ portal_url }}">See your rewards</a></p>
"#;
const POINTS_TEXT: &str = "Hi {{ first_name }},\n\nYour order earned {{ points_earned }} points. Your balance is {{ points_balance }} points.\n\nRewards: {{ portal_url }}";

const REDEEMED_SUBJECT: &str = "You redeemed {{ reward_name }}";
const REDEEMED_HTML: &str = r#"
<h1>Enjoy, {{ first_name }}!</h1>
<p>You redeemed <strong>{{ reward_name }}</strong> for {{ reward_points }} points. Your balance is now {{ points_balance }} points.</p>
<p>We'll let you know when it is ready.</p>
"#;
const REDEEMED_TEXT: &str = "Hi {{ first_name }},\n\nYou redeemed {{ reward_name }} for {{ reward_points }} points. Your balance is now {{ points_balance }} points. We'll let you know when it is ready.";

const FULFILLED_SUBJECT: &str = "Your {{ reward_name }} is ready";
const FULFILLED_HTML: &str = r#"
<h1>It's ready, {{ first_name }}</h1>
<p>Your reward <strong>{{ reward_name }}</strong> has been fulfilled. Thank you for being a member of {{ winery_name }}.</p>
"#;
const FULFILLED_TEXT: &str = "Hi {{ first_name }},\n\nYour reward {{ reward_name }} has been fulfilled. Thank you for being a member of {{ winery_name }}.";

const SIGN_IN_SUBJECT: &str = "Your sign-in link for {{ winery_name }}";
const SIGN_IN_HTML: &str = r#"
<h1>Sign in, {{ first_name }}</h1>
<p>Use this button within 30 minutes to see your membership, points and rewards. It works once.</p>
<p><a class="button" href="{{ sign_in_url }}">Sign in to {{ winery_name }}</a></p>
<p>If you did not ask for this e-mail, you can ignore it: nobody can sign in without the link.</p>
"#;
const SIGN_IN_TEXT: &str = "Hi {{ first_name }},\n\nSign in to {{ winery_name }} with this link within 30 minutes (it works once):\n{{ sign_in_url }}\n\nIf you did not ask for this e-mail, you can ignore it.";

#[cfg(test)]
mod tests {
    use super::super::template::{Escape, check, render_email, render_sms};
    use super::super::vars::MessageVars;
    use super::*;

    #[test]
    fn every_default_template_passes_the_checks_a_custom_one_must_pass() {
        for kind in MessageType::ALL {
            let source = email(kind);
            assert_eq!(
                check(&source.subject, Escape::Text),
                Ok(()),
                "{kind} subject"
            );
            assert_eq!(check(&source.html, Escape::Html), Ok(()), "{kind} html");
            assert_eq!(check(&source.text, Escape::Text), Ok(()), "{kind} text");
            assert_eq!(check(&sms(kind), Escape::Text), Ok(()), "{kind} sms");
        }
    }

    #[test]
    fn the_monthly_status_follows_the_worked_scenario() {
        // domain.md 6.8: Silver (15%) until July 1, 2026, 62 days left, Gold at $300, not earning.
        let vars = MessageVars {
            days_remaining: 62,
            is_expiring_soon: false,
            is_earning_points: false,
            ..MessageVars::sample("Hillside")
        };
        let message = render_email(&email(MessageType::MonthlyStatus), &vars).expect("renders");
        assert!(message.html.contains("valid until July 1, 2026"));
        assert!(
            message
                .html
                .contains("Spend $300.00 in one order to reach <strong>Gold</strong>")
        );
        assert!(
            message
                .html
                .contains("at least $150.00 before July 1, 2026")
        );
        assert!(!message.html.contains("points"), "no points block");
        assert!(!message.html.contains("expires in"));
    }

    #[test]
    fn the_warning_says_the_days_and_the_amount_to_renew() {
        let vars = MessageVars::sample("Hillside");
        let message = render_email(&email(MessageType::ExpirationWarning), &vars).expect("renders");
        assert_eq!(message.subject, "Your Silver membership ends in 7 days");
        assert!(message.text.contains("One order of at least $150.00"));
        let text = render_sms(&sms(MessageType::ExpirationWarning), &vars).expect("renders");
        assert!(text.contains("ends in 7 days"), "{text}");
        assert!(text.ends_with("Reply STOP to opt out."));
    }
}
