//! The disk-backed S3 verifies and reports checksums as S3 does where the pipeline relies on it.

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumMode, ChecksumType, CompletedMultipartUpload, CompletedPart};
use base64::Engine;
use harness::emulate::disk_s3::DiskS3;
use harness::world::aws::{TEST_CREDENTIALS, s3_client, sdk_config};

/// HeadObject with checksums: (CRC32C, size).
async fn head(s3: &aws_sdk_s3::Client, key: &str) -> (Option<String>, Option<i64>) {
    let head = s3
        .head_object()
        .bucket("landing")
        .key(key)
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .unwrap();
    (head.checksum_crc32_c().map(str::to_string), head.content_length())
}

/// A disk S3 in its own temp dir (both kept for the test's length) with a bucket `landing`.
async fn with_landing_bucket() -> (tempfile::TempDir, DiskS3, aws_sdk_s3::Client) {
    let dir = tempfile::tempdir().unwrap();
    let store = DiskS3::start(Some(dir.path()), TEST_CREDENTIALS, TEST_CREDENTIALS)
        .await
        .unwrap();
    let s3 = s3_client(&sdk_config(store.endpoint()).await);
    s3.create_bucket().bucket("landing").send().await.unwrap();
    (dir, store, s3)
}

fn crc(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(crc32c::crc32c(data).to_be_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parts_are_checked_and_the_object_reports_the_composite_crc32c() {
    let (_dir, _store, s3) = with_landing_bucket().await;

    let upload = s3
        .create_multipart_upload()
        .bucket("landing")
        .key("k")
        .checksum_algorithm(ChecksumAlgorithm::Crc32C)
        .send()
        .await
        .unwrap();
    let id = upload.upload_id().unwrap();
    let first = vec![7u8; 5 * 1024 * 1024];
    let second = b"the rest".to_vec();

    let wrong = s3
        .upload_part()
        .bucket("landing")
        .key("k")
        .upload_id(id)
        .part_number(1)
        .checksum_crc32_c(crc(b"something else"))
        .body(ByteStream::from(first.clone()))
        .send()
        .await
        .unwrap_err();
    let wrong = aws_sdk_s3::error::DisplayErrorContext(wrong).to_string();
    assert!(wrong.contains("BadDigest"), "{wrong}");

    let parts = upload_parts(&s3, "k", id, &[&first, &second]).await;
    let listed = s3
        .list_parts()
        .bucket("landing")
        .key("k")
        .upload_id(id)
        .send()
        .await
        .unwrap();
    let listed: Vec<_> = listed
        .parts()
        .iter()
        .map(|p| (p.part_number(), p.size(), p.checksum_crc32_c().map(str::to_string)))
        .collect();
    assert_eq!(
        listed,
        [
            (Some(1), Some(first.len() as i64), Some(crc(&first))),
            (Some(2), Some(second.len() as i64), Some(crc(&second)))
        ]
    );
    s3.complete_multipart_upload()
        .bucket("landing")
        .key("k")
        .upload_id(id)
        .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
        .send()
        .await
        .unwrap();

    let mut crcs = crc32c::crc32c(&first).to_be_bytes().to_vec();
    crcs.extend_from_slice(&crc32c::crc32c(&second).to_be_bytes());
    assert_eq!(
        head(&s3, "k").await,
        (
            Some(format!("{}-2", crc(&crcs))),
            Some((first.len() + second.len()) as i64)
        )
    );
    let body = s3
        .get_object()
        .bucket("landing")
        .key("k")
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap();
    assert_eq!(body.into_bytes().len(), first.len() + second.len());
    let open = s3.list_multipart_uploads().bucket("landing").send().await.unwrap();
    assert!(open.uploads().is_empty(), "completion closes the upload");

    // A single PUT reports its own CRC32C (no part count); a wrong one is refused.
    let put = s3
        .put_object()
        .bucket("landing")
        .key("small")
        .checksum_crc32_c(crc(b"x"))
        .body(ByteStream::from_static(b"y"))
        .send()
        .await
        .unwrap_err();
    assert!(
        aws_sdk_s3::error::DisplayErrorContext(put)
            .to_string()
            .contains("BadDigest")
    );
    s3.put_object()
        .bucket("landing")
        .key("small")
        .checksum_crc32_c(crc(b"y"))
        .body(ByteStream::from_static(b"y"))
        .send()
        .await
        .unwrap();
    assert_eq!(head(&s3, "small").await, (Some(crc(b"y")), Some(1)));
}

/// Uploads `bodies` as parts 1.. of `id`, each with its CRC32C.
async fn upload_parts(s3: &aws_sdk_s3::Client, key: &str, id: &str, bodies: &[&[u8]]) -> Vec<CompletedPart> {
    let mut parts = Vec::new();
    for (n, body) in (1..).zip(bodies) {
        let out = s3
            .upload_part()
            .bucket("landing")
            .key(key)
            .upload_id(id)
            .part_number(n)
            .checksum_crc32_c(crc(body))
            .body(ByteStream::from(body.to_vec()))
            .send()
            .await
            .unwrap();
        parts.push(
            CompletedPart::builder()
                .part_number(n)
                .set_e_tag(out.e_tag)
                .checksum_crc32_c(crc(body))
                .build(),
        );
    }
    parts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_object_upload_checks_and_reports_the_whole_content_crc32c() {
    let (_dir, _store, s3) = with_landing_bucket().await;
    let first = vec![3u8; 5 * 1024 * 1024];
    let second = b"and the rest of the file".to_vec();
    let whole = [first.as_slice(), second.as_slice()].concat();

    let upload = s3
        .create_multipart_upload()
        .bucket("landing")
        .key("full")
        .checksum_algorithm(ChecksumAlgorithm::Crc32C)
        .checksum_type(ChecksumType::FullObject)
        .send()
        .await
        .unwrap();
    assert_eq!(upload.checksum_type(), Some(&ChecksumType::FullObject));
    let id = upload.upload_id().unwrap();
    let parts = upload_parts(&s3, "full", id, &[&first, &second]).await;
    let complete = |stated: String| {
        s3.complete_multipart_upload()
            .bucket("landing")
            .key("full")
            .upload_id(id)
            .checksum_type(ChecksumType::FullObject)
            .checksum_crc32_c(stated)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts.clone()))
                    .build(),
            )
            .send()
    };
    let refused = complete(crc(&first)).await.unwrap_err();
    let refused = aws_sdk_s3::error::DisplayErrorContext(refused).to_string();
    assert!(refused.contains("BadDigest"), "{refused}");
    complete(crc(&whole)).await.unwrap();
    assert_eq!(head(&s3, "full").await, (Some(crc(&whole)), Some(whole.len() as i64)));
}
