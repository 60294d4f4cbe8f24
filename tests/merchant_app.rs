//! The merchant app in a real headless Chromium, as a new merchant uses it: from the
//! BigCommerce install through the wizard (a real default profile, the import's
//! progress), a profile with a rule group and an attribute mapping, a bulk upload of
//! the demo catalogue, a product going live, a *Not ready* product fixed through its
//! overrides and uploaded again, a search, a filter and a page change. Each screen is
//! written to `target/screenshots/app-*.png`.

use connector_e2e::chromium::Chromium;
use connector_e2e::{eventually, local_stack};
use fantoccini::{Client, Locator};

const STORE: &str = "sbx1store";

/// The element `css`.
async fn find(client: &Client, css: &str) -> fantoccini::elements::Element {
    match client.find(Locator::Css(css)).await {
        Ok(element) => element,
        Err(error) => panic!("no {css} on {:?}: {error}", client.current_url().await.ok()),
    }
}

/// Types `text` into the field `css` (after clearing it).
async fn type_into(client: &Client, css: &str, text: &str) {
    let field = find(client, css).await;
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

/// Chooses the option `value` of the select `css`.
async fn choose(client: &Client, css: &str, value: &str) {
    find(client, css).await.select_by_value(value).await.unwrap();
}

/// The text of `css`, or empty when it is not on the page.
async fn text(client: &Client, css: &str) -> String {
    match client.find(Locator::Css(css)).await {
        Ok(element) => element.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// The `data-status` of the activity's progress fragment; `None` while htmx swaps it
/// (the element found can go stale before its attribute is read).
async fn progress_status(client: &Client) -> Option<String> {
    let element = client.find(Locator::Css(".progress")).await.ok()?;
    element.attr("data-status").await.ok().flatten()
}

/// Reloads the page until `css` holds `wanted` (at most `seconds`).
async fn reload_until(client: &Client, css: &str, wanted: &str, seconds: u64) -> bool {
    eventually(seconds, async || {
        client.refresh().await.unwrap();
        text(client, css).await.contains(wanted)
    })
    .await
}

#[tokio::test]
async fn a_new_merchant_sets_up_uploads_fixes_and_finds_products_in_the_browser() {
    let data_dir = tempfile::tempdir().unwrap();
    let running = local_stack(data_dir.path(), false, true).await;
    let sandboxes = running.sandboxes.as_ref().unwrap();
    let base = format!("http://{}", running.addr);
    let table = running.app.table.as_ref();
    let chromium = Chromium::start().await.unwrap();
    let c = chromium.client();

    // Installing from the BigCommerce control panel opens the wizard; connecting TikTok
    // comes back to it.
    c.goto(&format!("{}/sandbox/install", sandboxes.store)).await.unwrap();
    assert_eq!(text(c, "h1").await, "Set up the connector");
    chromium.screenshot("app-1-connect").await.unwrap();
    c.goto(&format!("{base}/tiktok/connect")).await.unwrap();
    assert!(
        text(c, ".card h2").await.contains("Choose the warehouse"),
        "{}",
        c.source().await.unwrap()
    );
    type_into(c, "input[name^=\"rate:\"]", "0.79").await;
    chromium.screenshot("app-2-warehouse").await.unwrap();
    chromium
        .click_to_next_page("main form[method=post] button[type=submit]")
        .await
        .unwrap();

    // The default profile: TikTok's recommendation for a sample product is chosen
    // already; the merchant searches and picks Phone Cases instead.
    assert_eq!(text(c, ".card h2").await, "Default profile");
    let recommended = find(c, "select[name=category_id] option:checked")
        .await
        .text()
        .await
        .unwrap();
    assert!(recommended.ends_with("(recommended)"), "{recommended}");
    assert!(text(c, "#import-progress").await.contains("product(s) imported"));
    type_into(c, "input[name=category_q]", "phone").await;
    // By keyboard: Enter submits the search.
    find(c, "input[name=category_q]")
        .await
        .send_keys("\u{E007}")
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::Css("select[name=category_id]"))
        .await
        .unwrap();
    choose(c, "select[name=category_id]", "900010").await;
    chromium.screenshot("app-3-default-profile").await.unwrap();
    chromium
        .click_to_next_page("main form[method=post] button[type=submit]")
        .await
        .unwrap();
    assert_eq!(text(c, ".card h2").await, "Default configuration");
    chromium
        .click_to_next_page("main form[method=post] button[type=submit]")
        .await
        .unwrap();

    // The dashboard, with the import's progress.
    assert!(c.current_url().await.unwrap().path().ends_with("/settings/dashboard"));
    assert!(text(c, "#flash").await.contains("Setup finished"));
    assert!(text(c, "#recent-activities").await.contains("Import from the store"));
    assert!(
        reload_until(c, "#recent-activities", "60 done", 60).await,
        "the import finishes"
    );
    chromium.screenshot("app-4-dashboard").await.unwrap();
    let profiles = connector::catalog::records::all_profiles(table, STORE).await.unwrap();
    assert!(
        profiles.iter().any(|p| p.is_default && p.category_id == "900010"),
        "the wizard created a real default profile: {profiles:?}"
    );

    // A profile for brand 2's products in Cookware, with a second rule group; its
    // "matches" line follows the rules as they are typed.
    c.goto(&format!("{base}/settings/profiles/new?category_q=cook"))
        .await
        .unwrap();
    type_into(c, "input[name=name]", "Cookware").await;
    choose(c, "select[name=category_id]", "700011").await;
    choose(c, "select[name=\"group0.field0\"]", "brand").await;
    choose(c, "select[name=\"group0.operator0\"]", "equals").await;
    type_into(c, "input[name=\"group0.value0\"]", "2").await;
    choose(c, "select[name=\"group1.field0\"]", "title").await;
    choose(c, "select[name=\"group1.operator0\"]", "contains").await;
    type_into(c, "input[name=\"group1.value0\"]", "00059").await;
    // Leaving the field is a change: the count comes back from the server.
    find(c, "input[name=name]").await.click().await.unwrap();
    let counted = eventually(10, async || text(c, "#match-count").await.contains("Matches 13 of 60")).await;
    assert!(
        counted,
        "12 products of brand 2 and product 59: {}",
        text(c, "#match-count").await
    );
    chromium.screenshot("app-5-new-profile").await.unwrap();
    chromium
        .click_to_next_page("main form[method=post] button[type=submit]")
        .await
        .unwrap();
    assert!(
        text(c, "#flash").await.contains("Profile created"),
        "{}",
        c.source().await.unwrap()
    );
    // Its category's attributes, now shown: the colour comes from the variants' Color option, the
    // required diameter is left for the products' own overrides.
    assert!(text(c, "#attributes").await.contains("Diameter"));
    choose(c, "select[name=\"attr_source:100000\"]", "option").await;
    type_into(c, "input[name=\"attr_value:100000\"]", "Color").await;
    chromium.screenshot("app-6-profile-attributes").await.unwrap();
    chromium
        .click_to_next_page("main form[method=post] button[type=submit]")
        .await
        .unwrap();
    assert!(text(c, "#flash").await.contains("Saved"));
    // Its own stock rule: a reserve beyond any stock is refused next to the field, every
    // other edit kept; a real one is saved.
    find(c, "input[name=own_inventory]").await.click().await.unwrap();
    let threshold = find(c, "input[name=\"inventory.threshold\"]")
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap();
    type_into(c, "input[name=\"inventory.reserve\"]", "200000").await;
    type_into(c, "input[name=\"inventory.threshold\"]", "300000").await;
    chromium
        .click_to_next_page("main form[method=post] button[type=submit]")
        .await
        .unwrap();
    assert!(
        text(c, "#flash").await.contains("not saved"),
        "{}",
        text(c, "#flash").await
    );
    // Both refusals, each by its own input, which is marked invalid.
    for (name, message) in [
        (
            "inventory.reserve",
            "inventory.reserve must be between 0 and 100000 units",
        ),
        (
            "inventory.threshold",
            "inventory.threshold must be between 0 and 100000 units",
        ),
    ] {
        let label = format!("label:has(input[name=\"{name}\"])");
        assert_eq!(
            text(c, &format!("{label} .field-error[data-field=\"{name}\"]")).await,
            message
        );
        let marked = find(c, &format!("input[name=\"{name}\"]"))
            .await
            .attr("aria-invalid")
            .await
            .unwrap();
        assert_eq!(marked.as_deref(), Some("true"), "{name}");
    }
    assert!(
        find(c, "input[name=own_inventory]").await.is_selected().await.unwrap(),
        "the profile's own stock rule stays chosen"
    );
    chromium.scroll_to("input[name=\"inventory.reserve\"]").await.unwrap();
    chromium.screenshot("app-6b-profile-refused").await.unwrap();
    type_into(c, "input[name=\"inventory.threshold\"]", &threshold).await;
    let kept = find(c, "select[name=\"attr_source:100000\"] option:checked")
        .await
        .attr("value")
        .await
        .unwrap();
    assert_eq!(
        kept.as_deref(),
        Some("option"),
        "the attribute mapping survived the refusal"
    );
    type_into(c, "input[name=\"inventory.reserve\"]", "2").await;
    chromium
        .click_to_next_page("main form[method=post] button[type=submit]")
        .await
        .unwrap();
    assert!(text(c, "#flash").await.contains("Saved"));
    let cookware = connector::catalog::records::all_profiles(table, STORE)
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.name == "Cookware")
        .unwrap();
    assert_eq!((cookware.rules.len(), cookware.groups.len()), (1, 1));
    assert_eq!(cookware.attributes.len(), 1, "{:?}", cookware.attributes);
    assert_eq!(cookware.inventory.map(|p| p.reserve), Some(2));

    // Bulk upload of the whole catalogue; the activity's progress moves while the page is open.
    c.goto(&format!("{base}/settings/products")).await.unwrap();
    assert!(text(c, ".tabs").await.contains("All (60)"));
    chromium.screenshot("app-7-products").await.unwrap();
    find(c, "input[name=all_matching]").await.click().await.unwrap();
    choose(c, "select[name=action]", "upload").await;
    chromium
        .click_to_next_page("form[action=\"/settings/products/actions\"] button[type=submit]")
        .await
        .unwrap();
    assert!(
        c.current_url()
            .await
            .unwrap()
            .path()
            .starts_with("/settings/activities/")
    );
    let flash = text(c, "#flash").await;
    assert!(flash.contains("Started for 60 product(s)"), "{flash}");
    let finished = eventually(120, async || progress_status(c).await.as_deref() == Some("done")).await;
    assert!(
        finished,
        "the progress fragment refreshed itself to the end: {}",
        text(c, ".progress").await
    );
    chromium.screenshot("app-8-upload-activity").await.unwrap();
    assert!(
        text(c, "#failures").await.contains("Diameter"),
        "{}",
        text(c, "#failures").await
    );

    // A product goes live.
    c.goto(&format!("{base}/settings/products?status=live")).await.unwrap();
    assert!(
        reload_until(c, "#products tbody", "Live", 60).await,
        "a product went live"
    );

    // A Cookware product is Not ready for want of a diameter: its overrides give one,
    // and uploaded again it goes to TikTok.
    c.goto(&format!("{base}/settings/products/16")).await.unwrap();
    assert!(
        text(c, "#reasons").await.contains("Diameter"),
        "{}",
        text(c, "#reasons").await
    );
    type_into(c, "textarea[name=attributes]", "100601 = 24").await;
    chromium
        .click_to_next_page("#overrides button[type=submit]")
        .await
        .unwrap();
    assert!(text(c, "#flash").await.contains("Overrides saved"));
    chromium.screenshot("app-9-product-overrides").await.unwrap();
    chromium
        .click_to_next_page("form[action$=\"/upload\"] button[type=submit]")
        .await
        .unwrap();
    let uploaded = eventually(60, async || progress_status(c).await.as_deref() == Some("done")).await;
    assert!(uploaded);
    assert_eq!(text(c, ".progress span").await, "1 done · 1 in all · finished");
    c.goto(&format!("{base}/settings/products/16")).await.unwrap();
    let listed = text(c, ".card p strong").await;
    assert!(listed == "In review" || listed == "Live", "{listed}");
    chromium.screenshot("app-10-product-fixed").await.unwrap();

    // A bulk action on nothing, and a filter that is not a number, say so on the page.
    c.goto(&format!("{base}/settings/products")).await.unwrap();
    chromium
        .click_to_next_page("form[action=\"/settings/products/actions\"] button[type=submit]")
        .await
        .unwrap();
    assert!(
        text(c, "#flash").await.contains("Tick the products to act on"),
        "{}",
        text(c, "#flash").await
    );
    c.goto(&format!("{base}/settings/products?min_stock=lots"))
        .await
        .unwrap();
    assert!(
        text(c, "#flash").await.contains("The filter is not valid"),
        "{}",
        text(c, "#flash").await
    );

    // Search, filter, and the next page.
    c.goto(&format!("{base}/settings/products")).await.unwrap();
    type_into(c, "input[name=q]", "SKU-11").await;
    find(c, "input[name=q]").await.send_keys("\u{E007}").await.unwrap();
    c.wait().for_element(Locator::Css("#products")).await.unwrap();
    let rows = c.find_all(Locator::Css("#products tbody tr")).await.unwrap();
    assert_eq!(rows.len(), 1, "a SKU finds its product");
    assert!(text(c, "#products tbody").await.contains("Sandbox product 00011"));
    c.goto(&format!("{base}/settings/products")).await.unwrap();
    choose(c, "select[name=profile]", &cookware.id).await;
    chromium
        .click_to_next_page("form[role=search] button[type=submit]")
        .await
        .unwrap();
    let rows = c.find_all(Locator::Css("#products tbody tr")).await.unwrap();
    assert_eq!(rows.len(), 13, "the profile filter keeps its 13 products");
    chromium.screenshot("app-11-filtered").await.unwrap();
    c.goto(&format!("{base}/settings/products")).await.unwrap();
    chromium.click_to_next_page("a[rel=next]").await.unwrap();
    assert!(text(c, ".pager").await.contains("Page 2 of 2"));
    let rows = c.find_all(Locator::Css("#products tbody tr")).await.unwrap();
    assert_eq!(rows.len(), 10, "60 products, 50 a page");
    chromium.screenshot("app-12-page-two").await.unwrap();

    // The dashboard's counters (kept by the workers) say what the listings say.
    c.goto(&format!("{base}/settings/dashboard")).await.unwrap();
    let shop = connector::accounts::list_shops(table, STORE)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.region == "US")
        .unwrap();
    let listings = connector::catalog::records::shop_listings(table, STORE, &shop.shop_id)
        .await
        .unwrap();
    for (status, label) in [
        (connector::catalog::records::ListingStatus::Live, "Live"),
        (connector::catalog::records::ListingStatus::NotReady, "Not ready"),
    ] {
        let stored = listings.iter().filter(|l| l.status == status).count();
        let status_key = connector::catalog::records::status_key(status);
        let shown = text(
            c,
            &format!("[data-shop=\"{}\"] tr[data-status={status_key}] td.num", shop.shop_id),
        )
        .await;
        assert_eq!(shown, stored.to_string(), "{label} on the dashboard");
    }
    chromium.screenshot("app-13-dashboard-after").await.unwrap();
    chromium.quit().await;
}

#[tokio::test]
async fn the_profile_editor_uploads_the_size_chart_its_category_requires_and_shows_a_refusal_by_it() {
    let data_dir = tempfile::tempdir().unwrap();
    let running = local_stack(data_dir.path(), false, true).await;
    connector_local::onboard_sandbox(&running).await.unwrap();
    let (mut browser, base, csrf) = connector_e2e::merchant(&running).await;
    let profile = serde_json::json!({"id": "", "name": "Dresses", "priority": 1, "is_default": false, "matching": "all",
        "rules": [{"field": {"kind": "title"}, "operator": "contains", "value": "dress"}], "category_id": "600010",
        "attributes": [], "brand_id": null, "price_rule": {"adjustment": {"kind": "none"}, "rounding": "cents"},
        "size_chart_uri": null, "certifications": []});
    let created = browser
        .post_json(&format!("{base}/settings/api/profiles"), &profile, &csrf)
        .await
        .unwrap();
    let id = serde_json::from_str::<serde_json::Value>(&created.body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let page = browser.get(&format!("{base}/settings/profiles/{id}")).await.unwrap();
    assert!(
        page.body.contains("Size chart") && page.body.contains("(required)"),
        "{}",
        page.body
    );
    assert!(page.body.contains("none yet."));

    let url = format!("{base}/settings/profiles/{id}/files");
    let upload = async |bytes: Vec<u8>| {
        let form = reqwest::multipart::Form::new()
            .text("csrf", csrf.clone())
            .text("kind", "size_chart")
            .part(
                "file",
                reqwest::multipart::Part::bytes(bytes)
                    .file_name("chart.png")
                    .mime_str("image/png")
                    .unwrap(),
            );
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .post(&url)
            .header("cookie", browser.cookie_header(&url).unwrap())
            .multipart(form)
            .send()
            .await
            .unwrap()
    };
    // TikTok wants a size chart's shorter side at 1024 px or more: the refusal shows by the uploads.
    let refused = upload(connector_e2e::png(300, 300)).await;
    assert_eq!(refused.status(), 400);
    let body = refused.text().await.unwrap();
    assert!(
        body.contains("id=\"files\"") && body.contains("TikTok refused the file"),
        "{body}"
    );
    let table = running.app.table.as_ref();
    let stored = async || {
        connector::catalog::records::all_profiles(table, STORE)
            .await
            .unwrap()
            .into_iter()
            .find(|p| p.id == id)
            .unwrap()
    };
    assert_eq!(stored().await.size_chart_uri, None, "nothing kept from a refused file");

    let accepted = upload(connector_e2e::png(1024, 1400)).await;
    assert_eq!(accepted.status(), 303);
    let uri = stored()
        .await
        .size_chart_uri
        .expect("the size chart is kept on the profile");
    let sandbox = running.sandboxes.as_ref().unwrap().tiktok_sandbox.clone();
    assert!(sandbox.lock().images.contains(&uri), "uploaded to TikTok as an image");
    let page = browser.get(&format!("{base}/settings/profiles/{id}")).await.unwrap();
    assert!(page.body.contains("uploaded."), "{}", page.body);
}

#[tokio::test]
async fn an_upload_that_fails_every_retry_counts_as_failed_in_its_activity_and_once() {
    let data_dir = tempfile::tempdir().unwrap();
    let running = local_stack(data_dir.path(), false, false).await;
    let table = running.app.table.as_ref();
    use connector::catalog::records::{Activity, get_activity, save_activity};
    let activity = Activity::start("upload", Some("shop-1"), Some(2));
    save_activity(table, STORE, &activity).await.unwrap();
    let payload = serde_json::json!({"shop_id": "shop-1", "product_id": "7", "activity_id": activity.id});
    let job = connector::queue::Job::new(connector::queue::JobKind::UploadProduct, STORE, "upload-7", payload);
    connector::redrive::park(&running.app, job, "TikTok answered 500 to every retry.".into())
        .await
        .unwrap();
    let counted = get_activity(table, STORE, &activity.id).await.unwrap().unwrap();
    assert_eq!(
        (counted.done, counted.failed, counted.status.as_str()),
        (0, 1, "running")
    );
    assert_eq!(
        counted.failures,
        [("7".to_string(), "TikTok answered 500 to every retry.".to_string())]
    );
    let parked = connector::redrive::parked_jobs(table, STORE).await.unwrap();
    assert!(
        parked[0].job.payload.get("activity_id").is_none(),
        "a Retry of the parked upload is not counted in the activity again"
    );
}

/// The configuration's save button of section `anchor`, clicked, waiting for the page.
async fn save_section(chromium: &Chromium, anchor: &str) {
    chromium
        .click_to_next_page(&format!("#{anchor} button[type=submit]"))
        .await
        .unwrap();
}

#[tokio::test]
async fn the_owner_changes_every_configuration_section_reconnects_shops_and_a_user_sees_them_read_only() {
    let (_dir, running, us, _) = connector_e2e::ready_on(false).await;
    let table = running.app.table.as_ref();
    let sandboxes = running.sandboxes.as_ref().unwrap();
    let base = format!("http://{}", running.addr);
    let shops = connector::accounts::list_shops(table, STORE).await.unwrap();
    let gb = shops.iter().find(|s| s.region == "GB").unwrap().shop_id.clone();
    let store = || async { connector::accounts::get_store(table, STORE).await.unwrap().unwrap() };
    let shop = |id: String| async move { connector::accounts::get_shop(table, STORE, &id).await.unwrap().unwrap() };
    let chromium = Chromium::start().await.unwrap();
    let c = chromium.client();
    c.goto(&sandboxes.load_url().await.unwrap()).await.unwrap();
    c.goto(&format!("{base}/settings/configuration")).await.unwrap();
    assert_eq!(text(c, "h1").await, "Configuration");
    chromium.screenshot("config-1-products").await.unwrap();

    // One change per section, each saved on its own and confirmed.
    find(c, "input[name=\"sync:title\"]").await.click().await.unwrap();
    choose(c, "select[name=gtin_source]", "upc").await;
    save_section(&chromium, "products").await;
    assert_eq!(text(c, "#flash").await, "Saved.");
    assert!(!store().await.settings.sync_fields.title);
    assert_eq!(
        store().await.settings.gtin.source,
        connector::rules::gtin::GtinSource::Upc
    );
    assert!(
        !find(c, "input[name=\"sync:title\"]").await.is_selected().await.unwrap(),
        "shown as saved"
    );

    type_into(c, "input[name=reserve]", "3").await;
    find(c, "input[name=at_threshold][value=deactivate]")
        .await
        .click()
        .await
        .unwrap();
    save_section(&chromium, "inventory").await;
    let policy = store().await.settings.inventory;
    assert_eq!((policy.reserve, policy.deactivate_at_threshold), (3, true));

    type_into(c, &format!("input[name=\"rate:{gb}\"]"), "0.8").await;
    save_section(&chromium, "price").await;
    let rated = shop(gb.clone()).await;
    assert_eq!(rated.conversion_rate.map(|r| r.to_string()), Some("0.8".into()));
    assert!(rated.conversion_rate_set_at.is_some());
    assert!(text(c, "#price").await.contains(" Set 20"), "the date it was set shows");

    type_into(c, "input[name=order_prefix]", "TT-").await;
    save_section(&chromium, "orders").await;
    assert_eq!(store().await.settings.order_prefix, "TT-");

    // The carrier picker offers the providers TikTok lists for the shops' delivery options.
    let offered = text(c, "select[name=\"carrier_tiktok:0\"]").await;
    assert!(offered.contains("Royal Mail") && offered.contains("USPS"), "{offered}");
    type_into(c, "input[name=\"carrier_store:0\"]", "royalmail").await;
    choose(c, "select[name=\"carrier_tiktok:0\"]", "Royal Mail").await;
    choose(c, "select[name=default_provider]", "USPS").await;
    save_section(&chromium, "carriers").await;
    let settings = store().await.settings;
    assert_eq!(
        settings.carrier_map,
        vec![("royalmail".to_string(), "Royal Mail".to_string())]
    );
    assert_eq!(settings.default_provider.as_deref(), Some("USPS"));

    find(c, "input[name=email_orders_need_attention]")
        .await
        .click()
        .await
        .unwrap();
    save_section(&chromium, "notifications").await;
    assert!(!store().await.settings.notifications.email_orders_need_attention);

    choose(c, "select[name=default_shop_id]", &gb).await;
    save_section(&chromium, "account").await;
    assert_eq!(store().await.settings.default_shop_id.as_deref(), Some(gb.as_str()));
    assert!(
        text(c, "header").await.contains("Sandbox UK Shop"),
        "the default shop shows first"
    );

    // A bad value is refused next to its field; the section's other edits stay as typed.
    type_into(c, "input[name=order_prefix]", "bad prefix!").await;
    type_into(c, "input[name=order_retries]", "5").await;
    find(c, "input[name=import_sample_orders]").await.click().await.unwrap();
    save_section(&chromium, "orders").await;
    let refusal = text(c, "#orders .field-error").await;
    assert!(refusal.contains("letters, digits, - or _"), "{refusal}");
    assert_eq!(
        find(c, "input[name=order_prefix]")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("bad prefix!")
    );
    assert_eq!(
        find(c, "input[name=order_retries]")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("5")
    );
    assert!(
        find(c, "input[name=import_sample_orders]")
            .await
            .is_selected()
            .await
            .unwrap()
    );
    assert_eq!(text(c, "h1").await, "Configuration", "the page, not an error page");
    let unchanged = store().await.settings;
    assert_eq!(
        (
            unchanged.order_retries,
            unchanged.order_prefix.as_str(),
            unchanged.import_sample_orders
        ),
        (3, "TT-", false)
    );
    chromium.scroll_to("#orders").await.unwrap();
    chromium.screenshot("config-2-refused").await.unwrap();

    // The log names who changed what.
    c.goto(&format!("{base}/settings/log")).await.unwrap();
    let log = text(c, "main").await;
    assert!(log.contains("order_prefix") && log.contains("(owner)"), "{log}");
    assert!(log.contains("conversion rate of Sandbox UK Shop"), "{log}");

    // Disconnect with a confirmation that says what stops; connect it again.
    c.goto(&format!("{base}/settings/configuration#account")).await.unwrap();
    chromium
        .click_to_next_page(&format!("#shops tr[data-shop=\"{gb}\"] a.danger"))
        .await
        .unwrap();
    assert!(
        text(c, "#confirm-disconnect")
            .await
            .contains("new TikTok orders reaching the store")
    );
    chromium.screenshot("config-3-disconnect").await.unwrap();
    chromium.click_to_next_page("#confirm-disconnect button").await.unwrap();
    assert!(text(c, "#flash").await.contains("Shop disconnected"));
    assert_eq!(
        shop(gb.clone()).await.status,
        connector::accounts::ShopStatus::Disconnected
    );
    chromium.click_to_next_page("#connect-shop").await.unwrap();
    assert_eq!(
        shop(gb.clone()).await.status,
        connector::accounts::ShopStatus::Active,
        "connected again"
    );
    // A shop whose authorization was revoked is re-authorized from its row.
    let mut revoked = shop(us.clone()).await;
    revoked.status = connector::accounts::ShopStatus::NeedsReauthorization;
    revoked.attention = Some("The seller revoked the authorization.".into());
    connector::accounts::save_shop(table, &revoked).await.unwrap();
    c.goto(&format!("{base}/settings/configuration#account")).await.unwrap();
    assert!(
        text(c, &format!("#shops tr[data-shop=\"{us}\"]"))
            .await
            .contains("Needs re-authorization")
    );
    chromium.scroll_to("#account").await.unwrap();
    chromium.screenshot("config-4-account").await.unwrap();
    chromium
        .click_to_next_page(&format!("#shops tr[data-shop=\"{us}\"] a.secondary"))
        .await
        .unwrap();
    assert_eq!(
        shop(us.clone()).await.status,
        connector::accounts::ShopStatus::Active,
        "re-authorized"
    );

    // Another user of the store sees the settings read-only; a save is refused.
    let user_load = async || -> String {
        let load: serde_json::Value = reqwest::get(format!("{}/sandbox/load-url?user_id=24654", sandboxes.store))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        load["url"].as_str().unwrap().to_string()
    };
    c.goto(&user_load().await).await.unwrap();
    c.goto(&format!("{base}/settings/configuration")).await.unwrap();
    assert!(text(c, "#read-only").await.contains("only the store owner"));
    assert!(
        text(c, "#products button[type=submit]").await.is_empty(),
        "no save button"
    );
    assert_eq!(
        find(c, "#products fieldset")
            .await
            .attr("disabled")
            .await
            .unwrap()
            .as_deref(),
        Some("true")
    );
    assert!(text(c, "#users").await.contains("User 24654 · you"));
    chromium.screenshot("config-5-read-only").await.unwrap();
    chromium.quit().await;
    let (mut user, _, csrf) = connector_e2e::merchant_at(&running, &user_load().await).await;
    let before = store().await;
    let refused = user
        .post_form(
            &format!("{base}/settings/configuration/products"),
            &[("csrf", csrf.as_str()), ("auto_create", "on")],
        )
        .await
        .unwrap();
    assert_eq!(refused.status, 403, "{}", refused.body);
    let json = user
        .put_json(
            &format!("{base}/settings/api/settings"),
            &serde_json::json!({"auto_create": true}),
            &csrf,
        )
        .await
        .unwrap();
    assert_eq!(json.status, 403);
    assert_eq!(store().await.settings, before.settings, "nothing changed");
}

/// The text of `css` with its lines and spaces run together (`Last webhook just now`).
async fn words(client: &Client, css: &str) -> String {
    text(client, css).await.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether the shop switcher shows `shop_id` as chosen.
async fn switcher_shows(c: &Client, shop_id: &str) -> bool {
    let chosen = find(c, "#shop-switcher option:checked").await;
    chosen.attr("value").await.unwrap().as_deref() == Some(shop_id)
}

#[tokio::test]
async fn the_header_names_the_store_the_chosen_shop_holds_across_pages_and_the_dashboard_shows_connection_health() {
    let (_dir, running, us, skus) = connector_e2e::ready_on(false).await;
    let table = running.app.table.as_ref();
    let sandboxes = running.sandboxes.as_ref().unwrap();
    let base = format!("http://{}", running.addr);
    let shops = connector::accounts::list_shops(table, STORE).await.unwrap();
    let gb = shops.iter().find(|s| s.region == "GB").unwrap().shop_id.clone();
    let chromium = Chromium::start().await.unwrap();
    let c = chromium.client();
    c.goto(&sandboxes.load_url().await.unwrap()).await.unwrap();
    c.goto(&format!("{base}/settings/dashboard")).await.unwrap();

    // The store by the name BigCommerce gives it, not its hash; the version in the footer.
    let store = text(c, "header .store").await;
    // The sandbox names each store "Sandbox store <its numeric id>".
    assert!(
        store.starts_with("BigCommerce store Sandbox store ") && !store.contains(STORE),
        "{store}"
    );
    assert_eq!(
        text(c, "footer").await,
        format!("TikTok Shop Connector {}", connector::http::pages::VERSION)
    );

    // Connection health: no poll yet, the last webhook two days ago (the listings'
    // webhooks were earlier still); then a refresh token ending in 3 days, an order set
    // aside, a poll and an order's webhook, each on the US shop's card.
    let card = format!("[data-shop=\"{us}\"] dl");
    let two_days_ago = connector::storage::unix_now() - 2 * 86_400;
    connector::accounts::note_webhook(table, STORE, &us, two_days_ago)
        .await
        .unwrap();
    c.refresh().await.unwrap();
    let health = words(c, &card).await;
    assert!(health.contains("Last webhook 2 days ago"), "{health}");
    assert!(health.contains("Last order poll none yet"), "{health}");
    assert!(health.contains("Orders waiting 0"), "{health}");
    assert!(!health.contains("re-authorize now"), "{health}");
    let mut ending = connector::accounts::get_shop(table, STORE, &us).await.unwrap().unwrap();
    ending.refresh_expires_at = connector::storage::unix_now() + 3 * 86_400;
    connector::accounts::save_shop(table, &ending).await.unwrap();
    connector::orders::park(
        table,
        STORE,
        &us,
        "576461413038700777",
        "set aside for the dashboard test",
    )
    .await
    .unwrap();
    connector::orders::poll_all(&running.app).await.unwrap();
    // Two days on, the process has written nothing for the shop within the minute.
    running.app.webhooks_noted.forget(STORE, &us);
    let order = connector_e2e::tiktok_order(&us, "576461413038700778", &[(&skus[0].0, &skus[0].1)]);
    assert_eq!(
        connector_e2e::tiktok_admin(&running, "/sandbox/orders", &order)
            .await
            .status(),
        201
    );
    let heard = eventually(20, async || {
        c.refresh().await.unwrap();
        words(c, &card).await.contains("Last webhook just now")
    })
    .await;
    assert!(heard, "the order's webhook shows: {}", words(c, &card).await);
    let health = words(c, &card).await;
    assert!(
        health.contains("Refresh token ends in 3 day(s): re-authorize now"),
        "{health}"
    );
    assert_eq!(
        find(c, &format!("{card} dd.state-error")).await.text().await.unwrap(),
        "ends in 3 day(s): re-authorize now",
        "marked as a warning"
    );
    assert!(health.contains("Last order poll just now"), "{health}");
    assert!(health.contains("Orders waiting 1"), "{health}");
    let gb_health = words(c, &format!("[data-shop=\"{gb}\"] dl")).await;
    assert!(!gb_health.contains("re-authorize now"), "only the US shop: {gb_health}");
    chromium.screenshot("app-14-dashboard-health").await.unwrap();

    // The shop chosen in the switcher holds from page to page through the navigation.
    assert!(switcher_shows(c, &us).await, "the default shop first");
    choose(c, "#shop-switcher", &gb).await;
    chromium
        .click_to_next_page("header form button[type=submit]")
        .await
        .unwrap();
    assert!(switcher_shows(c, &gb).await);
    for section in ["Products", "Activities", "Profiles", "Dashboard"] {
        chromium
            .click_to_next_page(&format!("nav.main a[href^=\"/settings/{}\"]", section.to_lowercase()))
            .await
            .unwrap();
        assert_eq!(text(c, "h1").await, section);
        assert!(
            switcher_shows(c, &gb).await,
            "{section} keeps the UK shop: {}",
            c.current_url().await.unwrap()
        );
    }
    // On a product's page, switching shows the same product on the other shop.
    c.goto(&format!("{base}/settings/products/16?shop={gb}")).await.unwrap();
    let title = text(c, "h1").await;
    choose(c, "#shop-switcher", &us).await;
    chromium
        .click_to_next_page("header form button[type=submit]")
        .await
        .unwrap();
    let url = c.current_url().await.unwrap();
    assert_eq!(url.path(), "/settings/products/16", "the switcher stays on the product");
    assert_eq!(text(c, "h1").await, title);
    assert!(switcher_shows(c, &us).await);
    chromium.screenshot("app-15-product-other-shop").await.unwrap();
    chromium.quit().await;
}
