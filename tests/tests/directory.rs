//! The staff directory (员工名录) through the gateway, on SQLite and PostgreSQL: people and
//! their posts kept by administrators, a property's staff list with phones masked by policy,
//! the lookups the gateway (SignIn) and the departments (CheckStaff) make, and WhoAmI.

use tonic::{Code, Request, Status};
use tonic_types::StatusExt;
use wuye_kit::identity::Caller;
use wuye_tests::{
    Backend, DirectoryClient, OTHER_PROPERTY, PROPERTY, Stack, both_backends,
    proto::{
        directory::{
            AssignPostRequest, CheckStaffRequest, CreatePersonRequest, EndPostRequest,
            GetPersonRequest, ListStaffRequest, MarkLeftRequest, Person, PersonStatus, PostSpec,
            SignInRequest, UpdatePersonRequest, WhoAmIRequest,
            directory_service_client::DirectoryServiceClient,
            staff_lookup_service_client::StaffLookupServiceClient,
        },
        events::{SubscribeRequest, event::Payload},
    },
};

both_backends!(
    a_person_is_hired_with_posts_and_found_again,
    the_staff_list_masks_phones_but_for_managers,
    posts_are_given_once_and_end_into_the_history,
    bad_posts_are_field_violations,
    only_administrators_keep_the_directory,
    a_person_who_left_holds_nothing_and_signs_in_no_more,
    check_staff_finds_the_fitting_post_or_says_why_not,
    sign_in_and_who_am_i,
    retries_do_not_duplicate_and_refusals_write_nothing,
    the_directory_announces_people_and_posts,
    staff_phones_are_sealed_at_rest,
    racing_assignments_give_a_post_once,
);

fn reason(status: &Status) -> String {
    status
        .get_details_error_info()
        .map(|i| i.reason)
        .unwrap_or_default()
}

fn fields(status: &Status) -> Vec<String> {
    status
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}

fn spec(role: &str, property_id: &str) -> PostSpec {
    PostSpec {
        role: role.into(),
        property_id: property_id.into(),
    }
}

fn rid() -> String {
    uuid::Uuid::now_v7().to_string()
}

fn new_person(staff_number: &str, name: &str, posts: Vec<PostSpec>) -> CreatePersonRequest {
    CreatePersonRequest {
        request_id: rid(),
        staff_number: staff_number.into(),
        name: name.into(),
        phone: "13800138000".into(),
        sign_in: String::new(),
        posts,
    }
}

async fn create(admin: &mut DirectoryClient, req: CreatePersonRequest) -> Person {
    admin
        .create_person(req)
        .await
        .expect("created")
        .into_inner()
        .person
        .unwrap()
}

async fn get(admin: &mut DirectoryClient, person_id: &str) -> Person {
    admin
        .get_person(GetPersonRequest {
            person_id: person_id.into(),
            staff_number: String::new(),
        })
        .await
        .expect("found")
        .into_inner()
        .person
        .unwrap()
}

async fn assign(
    admin: &mut DirectoryClient,
    person_id: &str,
    role: &str,
    property: &str,
) -> Result<Person, Status> {
    admin
        .assign_post(AssignPostRequest {
            request_id: rid(),
            person_id: person_id.into(),
            post: Some(spec(role, property)),
        })
        .await
        .map(|r| r.into_inner().person.unwrap())
}

fn roles_of(person: &Person) -> Vec<(String, String, bool)> {
    person
        .posts
        .iter()
        .map(|p| (p.role.clone(), p.property_id.clone(), p.end_time.is_none()))
        .collect()
}

async fn a_person_is_hired_with_posts_and_found_again(backend: Backend) {
    let stack = Stack::start(backend).await;
    let mut admin = stack.directory_admin();
    let mut req = new_person(
        "S1001",
        " 王芳 ",
        vec![
            spec("cs_supervisor", PROPERTY),
            spec("project_manager_assistant", PROPERTY),
        ],
    );
    req.sign_in = "wangfang".into();
    let person = create(&mut admin, req).await;
    assert_eq!(person.name, "王芳");
    assert_eq!(person.status(), PersonStatus::Active);
    assert_eq!(person.phone, "13800138000", "admin sees the phone in full");
    assert_eq!(person.posts.len(), 2);
    assert!(person.posts.iter().all(|p| p.end_time.is_none()));
    let again = get(&mut admin, &person.person_id).await;
    assert_eq!(again, person);
    let by_number = admin
        .get_person(GetPersonRequest {
            person_id: String::new(),
            staff_number: "S1001".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .person
        .unwrap();
    assert_eq!(by_number.person_id, person.person_id);
    // Staff numbers and sign-ins name one person each.
    let mut taken = new_person("S1001", "李四", vec![]);
    let err = admin.create_person(taken.clone()).await.unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);
    taken.staff_number = "S1002".into();
    taken.sign_in = "wangfang".into();
    taken.request_id = rid();
    let err = admin.create_person(taken).await.unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);
    assert!(!err.message().contains("wangfang"), "{}", err.message());
    let unknown = admin
        .get_person(GetPersonRequest {
            person_id: "nobody".into(),
            staff_number: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
    let neither = admin
        .get_person(GetPersonRequest::default())
        .await
        .unwrap_err();
    assert_eq!(neither.code(), Code::InvalidArgument);
    // A name is required; the phone and the sign-in are checked for shape.
    let mut bad = new_person("S1003", " ", vec![]);
    bad.phone = "call me".into();
    let err = admin.create_person(bad).await.unwrap_err();
    assert_eq!(fields(&err), ["name", "phone"]);
    // Updates change what they give and keep the rest.
    let updated = admin
        .update_person(UpdatePersonRequest {
            request_id: rid(),
            person_id: person.person_id.clone(),
            name: "王芳芳".into(),
            phone: String::new(),
            sign_in: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .person
        .unwrap();
    assert_eq!(updated.name, "王芳芳");
    assert_eq!(updated.phone, "13800138000");
    assert_eq!(updated.sign_in, "wangfang");
}

async fn list(stack: &Stack, role: &str, property: &str, filter: &str) -> Vec<Person> {
    stack
        .directory(role, property)
        .list_staff(ListStaffRequest {
            property_id: property.into(),
            role: filter.into(),
            page_size: 0,
            page_token: String::new(),
        })
        .await
        .unwrap_or_else(|e| panic!("{role} lists: {e:?}"))
        .into_inner()
        .people
}

async fn the_staff_list_masks_phones_but_for_managers(backend: Backend) {
    let stack = Stack::start(backend).await;
    let mut admin = stack.directory_admin();
    for (number, name, posts) in [
        ("S2", "张伟", vec![spec("technician", PROPERTY)]),
        (
            "S1",
            "王芳",
            vec![
                spec("front_desk", PROPERTY),
                spec("cs_clerk", OTHER_PROPERTY),
            ],
        ),
        ("S3", "刘洋", vec![spec("technician", OTHER_PROPERTY)]),
        ("S4", "赵敏", vec![spec("quality_officer", "")]),
    ] {
        create(&mut admin, new_person(number, name, posts)).await;
    }
    let desk = list(&stack, "front_desk", PROPERTY, "").await;
    let numbers: Vec<&str> = desk.iter().map(|p| p.staff_number.as_str()).collect();
    assert_eq!(numbers, ["S1", "S2"], "by staff number, this property only");
    assert!(desk.iter().all(|p| p.phone == "138****8000"), "{desk:?}");
    // Only the posts at this property are shown.
    assert_eq!(
        roles_of(&desk[0]),
        [("front_desk".to_owned(), PROPERTY.to_owned(), true)]
    );
    for manager in ["project_manager", "cs_supervisor", "engineering_manager"] {
        let full = list(&stack, manager, PROPERTY, "").await;
        assert!(full.iter().all(|p| p.phone == "13800138000"), "{manager}");
    }
    let technicians = list(&stack, "maintenance_foreman", PROPERTY, "technician").await;
    assert_eq!(technicians.len(), 1);
    assert_eq!(technicians[0].name, "张伟");
    // Headquarters reads every property's staff, masked.
    let hq = list(&stack, "hq_viewer", OTHER_PROPERTY, "").await;
    assert_eq!(hq.len(), 2);
    assert!(hq.iter().all(|p| p.phone == "138****8000"));
    // Pages of one.
    let mut desk_client = stack.directory("front_desk", PROPERTY);
    let first = desk_client
        .list_staff(ListStaffRequest {
            property_id: PROPERTY.into(),
            role: String::new(),
            page_size: 1,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.people[0].staff_number, "S1");
    let second = desk_client
        .list_staff(ListStaffRequest {
            property_id: PROPERTY.into(),
            role: String::new(),
            page_size: 1,
            page_token: first.next_page_token,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(second.people[0].staff_number, "S2");
    let err = desk_client
        .list_staff(ListStaffRequest {
            property_id: PROPERTY.into(),
            role: "janitor".into(),
            page_size: 0,
            page_token: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(fields(&err), ["role"]);
    // Another property's list is not this desk's.
    let err = desk_client
        .list_staff(ListStaffRequest {
            property_id: OTHER_PROPERTY.into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
}

async fn posts_are_given_once_and_end_into_the_history(backend: Backend) {
    let stack = Stack::start(backend).await;
    let mut admin = stack.directory_admin();
    let id = stack.hire("张伟", &[("technician", PROPERTY)]).await;
    // 一人多岗: another role here, the same role elsewhere.
    assign(&mut admin, &id, "maintenance_foreman", PROPERTY)
        .await
        .unwrap();
    let person = assign(&mut admin, &id, "technician", OTHER_PROPERTY)
        .await
        .unwrap();
    assert_eq!(person.posts.len(), 3);
    let err = assign(&mut admin, &id, "technician", PROPERTY)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "POST_ALREADY_HELD");
    let first = person
        .posts
        .iter()
        .find(|p| p.role == "technician" && p.property_id == PROPERTY)
        .unwrap()
        .post_id
        .clone();
    stack.clock.advance(chrono::Duration::hours(1));
    let ended = admin
        .end_post(EndPostRequest {
            request_id: rid(),
            person_id: id.clone(),
            post_id: first.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .person
        .unwrap();
    // Current posts first, the ended one last, kept.
    let last = ended.posts.last().unwrap();
    assert_eq!(last.post_id, first);
    assert!(last.end_time.is_some());
    assert_eq!(
        ended.posts.iter().filter(|p| p.end_time.is_none()).count(),
        2
    );
    // Ending it again is refused; the same role there may be given again.
    let err = admin
        .end_post(EndPostRequest {
            request_id: rid(),
            person_id: id.clone(),
            post_id: first.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    let again = assign(&mut admin, &id, "technician", PROPERTY)
        .await
        .unwrap();
    assert_eq!(again.posts.len(), 4);
    // Another person's post is not this person's to end.
    let other = stack.hire("刘洋", &[("technician", PROPERTY)]).await;
    let err = admin
        .end_post(EndPostRequest {
            request_id: rid(),
            person_id: other,
            post_id: again.posts[0].post_id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert_eq!(get(&mut admin, &id).await.posts.len(), 4);
}

async fn bad_posts_are_field_violations(backend: Backend) {
    let stack = Stack::start(backend).await;
    let mut admin = stack.directory_admin();
    let err = admin
        .create_person(new_person(
            "S1",
            "王芳",
            vec![
                spec("janitor", PROPERTY),
                spec("technician", "atlantis"),
                spec("technician", ""),
                spec("hq_viewer", PROPERTY),
                spec("front_desk", PROPERTY),
                spec("front_desk", PROPERTY),
            ],
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        fields(&err),
        [
            "posts[0].role",
            "posts[1].property_id",
            "posts[2].property_id",
            "posts[3].property_id",
            "posts[5]",
        ]
    );
    let id = stack.hire("王芳", &[]).await;
    let err = assign(&mut admin, &id, "technician", "atlantis")
        .await
        .unwrap_err();
    assert_eq!(fields(&err), ["post.property_id"]);
    let err = assign(&mut admin, &id, "wizard", PROPERTY)
        .await
        .unwrap_err();
    assert_eq!(fields(&err), ["post.role"]);
    let err = assign(&mut admin, "nobody", "technician", PROPERTY)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    // Admin may be either at headquarters or at a property.
    assign(&mut admin, &id, "admin", "").await.unwrap();
    assign(&mut admin, &id, "admin", PROPERTY).await.unwrap();
}

async fn only_administrators_keep_the_directory(backend: Backend) {
    let stack = Stack::start(backend).await;
    let id = stack.hire("王芳", &[("technician", PROPERTY)]).await;
    for role in [
        "project_manager",
        "front_desk",
        "quality_officer",
        "hq_viewer",
    ] {
        let mut client = stack.directory(role, PROPERTY);
        let err = client
            .create_person(new_person("S9", "李四", vec![]))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "{role}");
        let err = client
            .get_person(GetPersonRequest {
                person_id: id.clone(),
                staff_number: String::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "{role}");
    }
    // The lookups are for services: not through the gateway, not with a user's identity.
    let mut through_gateway = StaffLookupServiceClient::new(stack.admin());
    let err = through_gateway
        .sign_in(SignInRequest {
            sign_in: "x".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let as_user = Caller {
        user_id: "admin-1".into(),
        name: "管理员".into(),
        role: "admin".into(),
        ..Caller::default()
    };
    let mut direct = StaffLookupServiceClient::new(stack.as_gateway("directory", as_user));
    let err = direct
        .check_staff(CheckStaffRequest {
            property_id: PROPERTY.into(),
            person_id: id,
            roles: vec!["technician".into()],
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert_eq!(reason(&err), "SERVICE_ONLY");
}

async fn a_person_who_left_holds_nothing_and_signs_in_no_more(backend: Backend) {
    let stack = Stack::start(backend).await;
    let mut admin = stack.directory_admin();
    let id = stack
        .hire_signing_in(
            "张伟",
            "zhangwei",
            &[("technician", PROPERTY), ("technician", OTHER_PROPERTY)],
        )
        .await;
    let left = admin
        .mark_left(MarkLeftRequest {
            request_id: rid(),
            person_id: id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .person
        .unwrap();
    assert_eq!(left.status(), PersonStatus::Left);
    assert!(left.leave_time.is_some());
    assert_eq!(left.posts.len(), 2, "the posts stay in the history");
    assert!(left.posts.iter().all(|p| p.end_time.is_some()));
    let err = assign(&mut admin, &id, "cs_clerk", PROPERTY)
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "STAFF_LEFT");
    let err = admin
        .mark_left(MarkLeftRequest {
            request_id: rid(),
            person_id: id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "STAFF_LEFT");
    let signed = stack
        .staff_lookup()
        .sign_in(SignInRequest {
            sign_in: "zhangwei".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .person
        .unwrap();
    assert_eq!(signed.status(), PersonStatus::Left);
    assert!(signed.posts.is_empty());
    assert!(list(&stack, "front_desk", PROPERTY, "").await.is_empty());
}

async fn check(
    stack: &Stack,
    as_department: &str,
    property: &str,
    person_id: &str,
    roles: &[&str],
) -> Result<(String, String, String), Status> {
    // Signed by the department itself, as wuye_kit::staff::Directory asks.
    let source = wuye_tests::config(stack.directory)
        .signed(stack.signer(as_department), "directory", None)
        .lazy()
        .unwrap();
    StaffLookupServiceClient::new(source)
        .check_staff(CheckStaffRequest {
            property_id: property.into(),
            person_id: person_id.into(),
            roles: roles.iter().map(|r| r.to_string()).collect(),
        })
        .await
        .map(|r| {
            let r = r.into_inner();
            let post = r.post.unwrap();
            (r.name, post.role, post.property_id)
        })
}

async fn check_staff_finds_the_fitting_post_or_says_why_not(backend: Backend) {
    let stack = Stack::start(backend).await;
    let tech = stack
        .hire(
            "张伟",
            &[("technician", PROPERTY), ("cs_clerk", OTHER_PROPERTY)],
        )
        .await;
    let officer = stack.hire("赵敏", &[("quality_officer", "")]).await;
    let roles = ["technician", "maintenance_foreman"];
    assert_eq!(
        check(&stack, "engineering", PROPERTY, &tech, &roles)
            .await
            .unwrap(),
        (
            "张伟".to_owned(),
            "technician".to_owned(),
            PROPERTY.to_owned()
        )
    );
    let err = check(&stack, "engineering", OTHER_PROPERTY, &tech, &roles)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "NO_FITTING_POST");
    // A headquarters post fits any property for a headquarters role.
    let (_, role, at) = check(
        &stack,
        "quality",
        OTHER_PROPERTY,
        &officer,
        &["quality_officer"],
    )
    .await
    .unwrap();
    assert_eq!((role.as_str(), at.as_str()), ("quality_officer", ""));
    let err = check(&stack, "engineering", PROPERTY, "nobody", &roles)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = check(&stack, "engineering", "atlantis", &tech, &["wizard"])
        .await
        .unwrap_err();
    assert_eq!(fields(&err), ["property_id", "roles[0]"]);
    stack
        .directory_admin()
        .mark_left(MarkLeftRequest {
            request_id: rid(),
            person_id: tech.clone(),
        })
        .await
        .unwrap();
    let err = check(&stack, "customer-service", PROPERTY, &tech, &roles)
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "STAFF_LEFT");
    // The kit's check, as departments call it, turns every refusal into a field violation.
    let directory = wuye_kit::staff::Directory::new(&kit_settings(&stack), "engineering").unwrap();
    let refused = directory
        .check(PROPERTY, "technician_id", &tech, &roles)
        .await
        .unwrap_err();
    let status: Status = refused.into();
    assert_eq!(fields(&status), ["technician_id"]);
}

/// Settings of a department of the stack: the directory among its peers, development keys.
fn kit_settings(stack: &Stack) -> wuye_kit::ServiceSettings {
    let mut settings = wuye_kit::ServiceSettings {
        dev: true,
        ..Default::default()
    };
    settings
        .peers
        .insert("directory".into(), format!("http://{}", stack.directory));
    settings
}

async fn sign_in_and_who_am_i(backend: Backend) {
    let stack = Stack::start(backend).await;
    let id = stack
        .hire_signing_in(
            "王芳",
            "wangfang",
            &[
                ("cs_supervisor", PROPERTY),
                ("project_manager_assistant", PROPERTY),
            ],
        )
        .await;
    let mut lookup = stack.staff_lookup();
    let person = lookup
        .sign_in(SignInRequest {
            sign_in: "wangfang".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .person
        .unwrap();
    assert_eq!(person.person_id, id);
    assert_eq!(person.posts.len(), 2);
    assert_eq!(person.phone, "", "hired without a phone");
    let err = lookup
        .sign_in(SignInRequest {
            sign_in: "nobody".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert!(!err.message().contains("nobody"));
    let err = lookup.sign_in(SignInRequest::default()).await.unwrap_err();
    assert_eq!(fields(&err), ["sign_in"]);
    // WhoAmI: the person of the token's sub, current posts only.
    let mut me =
        DirectoryServiceClient::new(stack.as_person(&id, "王芳", "cs_supervisor", PROPERTY));
    let answer = me.who_am_i(WhoAmIRequest {}).await.unwrap().into_inner();
    let person = answer.person.unwrap();
    assert_eq!(person.person_id, id);
    assert_eq!(person.posts.len(), 2);
    assert_eq!(answer.post_id, "", "a script token acts in no post");
    // A post id passed on by the gateway is answered back.
    let caller = Caller {
        user_id: id.clone(),
        name: "王芳".into(),
        role: "cs_supervisor".into(),
        property: Some(PROPERTY.into()),
        post_id: person.posts[0].post_id.clone(),
        in_full: Vec::new(),
    };
    let mut direct = DirectoryServiceClient::new(stack.as_gateway("directory", caller));
    let answer = direct
        .who_am_i(WhoAmIRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.post_id, person.posts[0].post_id);
    // A script token of nobody in the directory.
    let err = stack
        .directory("front_desk", PROPERTY)
        .who_am_i(Request::new(WhoAmIRequest {}))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
}

async fn retries_do_not_duplicate_and_refusals_write_nothing(backend: Backend) {
    let stack = Stack::start(backend).await;
    let mut admin = stack.directory_admin();
    let req = new_person("S1", "王芳", vec![spec("front_desk", PROPERTY)]);
    let first = create(&mut admin, req.clone()).await;
    let again = create(&mut admin, req.clone()).await;
    assert_eq!(first, again);
    assert_eq!(list(&stack, "front_desk", PROPERTY, "").await.len(), 1);
    // The same request id for another request is refused.
    let mut other = req.clone();
    other.staff_number = "S2".into();
    let err = admin.create_person(other).await.unwrap_err();
    assert_eq!(reason(&err), "REQUEST_ID_REUSED");
    let assign_req = AssignPostRequest {
        request_id: rid(),
        person_id: first.person_id.clone(),
        post: Some(spec("cs_clerk", PROPERTY)),
    };
    admin.assign_post(assign_req.clone()).await.unwrap();
    let retried = admin
        .assign_post(assign_req)
        .await
        .expect("a retry is no second post")
        .into_inner()
        .person
        .unwrap();
    assert_eq!(retried.posts.len(), 2);
    // A refused person leaves nothing behind: no person, no post, no claimed staff number.
    let mut bad = new_person("S3", "李四", vec![spec("technician", PROPERTY)]);
    bad.sign_in = "dup".into();
    create(&mut admin, {
        let mut r = new_person("S4", "赵六", vec![]);
        r.sign_in = "dup".into();
        r
    })
    .await;
    admin.create_person(bad.clone()).await.unwrap_err();
    let technicians = list(&stack, "front_desk", PROPERTY, "technician").await;
    assert!(technicians.is_empty());
    bad.sign_in = String::new();
    bad.request_id = rid();
    let created = create(&mut admin, bad).await;
    assert_eq!(created.staff_number, "S3");
    // A refused post leaves the person as they were.
    let err = assign(&mut admin, &first.person_id, "front_desk", PROPERTY)
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "POST_ALREADY_HELD");
    assert_eq!(get(&mut admin, &first.person_id).await.posts.len(), 2);
}

async fn the_directory_announces_people_and_posts(backend: Backend) {
    let stack = Stack::start(backend).await;
    let mut admin = stack.directory_admin();
    let person = create(
        &mut admin,
        new_person("S1", "王芳", vec![spec("front_desk", PROPERTY)]),
    )
    .await;
    stack.clock.advance(chrono::Duration::minutes(1));
    assign(&mut admin, &person.person_id, "quality_officer", "")
        .await
        .unwrap();
    admin
        .mark_left(MarkLeftRequest {
            request_id: rid(),
            person_id: person.person_id.clone(),
        })
        .await
        .unwrap();
    let mut stream = stack
        .events("directory")
        .subscribe(SubscribeRequest { after_seq: 0 })
        .await
        .unwrap()
        .into_inner();
    let mut seen = Vec::new();
    while seen.len() < 6 {
        let event = stream.message().await.unwrap().unwrap().event.unwrap();
        let what = match event.payload.unwrap() {
            Payload::PersonCreated(p) => format!("created {}", p.staff_number),
            Payload::PostAssigned(p) => format!("assigned {}", p.post.unwrap().role),
            Payload::PostEnded(p) => format!("ended {}", p.post.unwrap().role),
            Payload::PersonLeft(p) => format!("left {}", p.staff_number),
            other => format!("{other:?}"),
        };
        seen.push((event.property_id, what));
    }
    let expected = [
        ("", "created S1"),
        (PROPERTY, "assigned front_desk"),
        ("", "assigned quality_officer"),
        // The newest post first, as the person's posts are listed.
        ("", "ended quality_officer"),
        (PROPERTY, "ended front_desk"),
        ("", "left S1"),
    ];
    let seen: Vec<(&str, &str)> = seen.iter().map(|(p, w)| (p.as_str(), w.as_str())).collect();
    assert_eq!(seen, expected);
}

async fn staff_phones_are_sealed_at_rest(backend: Backend) {
    use sqlx::Connection;
    let stack = Stack::start(backend).await;
    let mut admin = stack.directory_admin();
    let mut req = new_person("S1", "王芳", vec![spec("front_desk", PROPERTY)]);
    req.phone = "13912345678".into();
    req.sign_in = "marker-wangfang".into();
    create(&mut admin, req).await;
    let stored: Vec<u8> = match backend {
        Backend::Sqlite => {
            let mut bytes = Vec::new();
            for entry in std::fs::read_dir(wuye_tests::data_dir(&stack)).unwrap() {
                let path = entry.unwrap().path();
                if path
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("directory.db")
                {
                    bytes.extend(std::fs::read(path).unwrap());
                }
            }
            bytes
        }
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(&stack.database("directory"))
                .await
                .unwrap();
            let rows: Vec<(String,)> = sqlx::query_as("SELECT row_to_json(p)::text FROM people p")
                .fetch_all(&mut conn)
                .await
                .unwrap();
            rows.into_iter().flat_map(|(r,)| r.into_bytes()).collect()
        }
    };
    let has = |needle: &str| stored.windows(needle.len()).any(|w| w == needle.as_bytes());
    assert!(
        has("marker-wangfang"),
        "the search reads the directory's data"
    );
    assert!(!has("13912345678"), "the phone is stored in clear");
}

async fn racing_assignments_give_a_post_once(backend: Backend) {
    let stack = Stack::start(backend).await;
    let id = stack.hire("张伟", &[]).await;
    let attempts = (0..6).map(|_| {
        let mut admin = stack.directory_admin();
        let id = id.clone();
        async move { assign(&mut admin, &id, "technician", PROPERTY).await }
    });
    let answers = futures::future::join_all(attempts).await;
    let given = answers.iter().filter(|a| a.is_ok()).count();
    assert_eq!(given, 1, "{answers:?}");
    for refused in answers.iter().filter_map(|a| a.as_ref().err()) {
        assert_eq!(reason(refused), "POST_ALREADY_HELD", "{refused:?}");
    }
    let mut admin = stack.directory_admin();
    assert_eq!(get(&mut admin, &id).await.posts.len(), 1);
}
