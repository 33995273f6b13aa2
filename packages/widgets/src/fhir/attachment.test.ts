import { expect } from '@open-wc/testing';
import { attachmentView, downloadName, looksLikePdf } from './attachment.js';

describe('attachments (fhir/attachment.ts)', () => {
  it('names a download after its title with the extension of its content type', () => {
    expect(downloadName({ contentType: 'application/pdf', title: 'Large scanned report (6 MB)' })).to.equal(
      'Large scanned report (6 MB).pdf',
    );
    expect(downloadName({ contentType: 'image/jpeg', title: 'Knee X-ray' })).to.equal('Knee X-ray.jpg');
    expect(downloadName({ contentType: 'text/plain; charset=utf-8', title: 'Notes' })).to.equal('Notes.txt');
    expect(downloadName({ contentType: 'application/fhir+json', title: 'Bundle' })).to.equal('Bundle.json');
  });

  it('keeps an extension the title already has for that type, in any case', () => {
    expect(downloadName({ contentType: 'application/pdf', title: 'discharge.PDF' })).to.equal(
      'discharge.PDF',
    );
    expect(downloadName({ contentType: 'image/jpeg', title: 'scan.jpeg' })).to.equal('scan.jpeg');
    // An extension of another type is part of the name: the content type's is added.
    expect(downloadName({ contentType: 'application/pdf', title: 'report.txt' })).to.equal('report.txt.pdf');
  });

  it('names an untitled attachment by its position, and leaves unknown types without an extension', () => {
    expect(downloadName({ contentType: 'application/pdf' }, 1)).to.equal('attachment-2.pdf');
    expect(downloadName({ contentType: 'application/x-unknown', title: 'Blob' })).to.equal('Blob');
    expect(downloadName({ title: '   ' }, 0)).to.equal('attachment-1');
  });

  it('never lets a title choose a folder or a hidden file', () => {
    expect(downloadName({ contentType: 'application/pdf', title: '../../etc/passwd' })).to.equal(
      'etc passwd.pdf',
    );
    expect(downloadName({ contentType: 'text/plain', title: 'a\\b:c*d?e"f<g>h|i\u0000j' })).to.equal(
      'a b c d e f g h i j.txt',
    );
    expect(downloadName({ contentType: 'text/plain', title: '.bashrc' })).to.equal('bashrc.txt');
    expect(downloadName({ contentType: 'application/pdf', title: 'x'.repeat(500) })).to.have.length(124);
  });

  it('previews a PDF only when its bytes are one', () => {
    const enc = new TextEncoder();
    expect(attachmentView({ contentType: 'application/pdf' })).to.equal('pdf');
    expect(looksLikePdf(enc.encode('%PDF-1.7\n%âãÏÓ'))).to.equal(true);
    expect(looksLikePdf(enc.encode('<html><script>alert(1)</script>%PDF-1.7'))).to.equal(false);
    expect(looksLikePdf(enc.encode('%PD'))).to.equal(false);
  });
});
